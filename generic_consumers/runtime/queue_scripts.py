"""The server-side steps of the named-channel queue (each Lua script runs atomically).

A named channel is one Redis stream (``KEYS[1]``) read through one consumer group.
An entry has one field, ``d``: the msgpack payload. Its age comes from its id (the
server's clock, ``TIME``), so the clocks of the processes do not matter.

An entry is *settled* when it is handed to one reader for good. At most once (the
default): settling acknowledges and deletes it, so nothing is left to redeliver.
Redeliver once: it stays pending until the reader acknowledges it; one left pending
longer than the claim timeout is claimed by another reader once, and dropped if its
second reader does not acknowledge it in time either.

Any entry still pending in at-most-once mode was read but never settled (its reader
died between the two steps, or the read was cancelled): nobody has run it, so it is
*rescued* — claimed by another reader — after the rescue delay.
"""

from __future__ import annotations

import hashlib

__all__ = ["ACK", "FORGET", "SEND", "SETTLE", "TAKE", "Script"]


class Script:
    """One Lua script and its SHA1 (for ``EVALSHA``)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


_COMMON = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function id_ms(id) return tonumber(string.match(id, '^(%d+)')) end
local function drop(key, group, eid)
  redis.call('XACK', key, group, eid)
  redis.call('XDEL', key, eid)
end
local function ensure_group(key, group)
  if redis.call('EXISTS', key) == 0 then
    redis.call('XGROUP', 'CREATE', key, group, '0', 'MKSTREAM')
  end
end
"""

SEND = Script(
    _COMMON
    + """
-- ARGV: group, capacity, expiry ms, key ttl ms, payload.
-- Returns {1 added | 0 full, entries dropped as expired}.
local key, group = KEYS[1], ARGV[1]
local capacity, expiry = tonumber(ARGV[2]), tonumber(ARGV[3])
ensure_group(key, group)
local trimmed = redis.call('XTRIM', key, 'MINID',
                           string.format('%d', now_ms() - expiry))
redis.call('PEXPIRE', key, ARGV[4])
-- Waiting entries plus those handed out but not yet acknowledged.
if redis.call('XLEN', key) >= capacity then return {0, trimmed} end
redis.call('XADD', key, '*', 'd', ARGV[5])
return {1, trimmed}
"""
)

TAKE = Script(
    _COMMON
    + """
-- Without blocking: rescue or claim an entry left pending too long, else read the
-- next one; settle it. ARGV: group, consumer, mode (once|twice), idle ms, expiry ms,
-- key ttl ms. Returns {found (0|1), expired, given up, entry id, payload, deliveries}.
local key, group, me, mode = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local idle, expiry = tonumber(ARGV[4]), tonumber(ARGV[5])
ensure_group(key, group)
redis.call('PEXPIRE', key, ARGV[6])  -- a channel somebody reads stays
local now = now_ms()
local expired, given_up = 0, 0
for _ = 1, 100 do
  local eid, fields, n = false, false, 1
  local p = redis.call('XPENDING', key, group, 'IDLE', idle, '-', '+', 1)
  if #p > 0 then
    eid, n = p[1][1], tonumber(p[1][4]) + 1
    if mode == 'twice' and n > 2 then
      drop(key, group, eid)  -- delivered twice and never acknowledged: no third
      given_up = given_up + 1
      eid = false
    else
      local c = redis.call('XCLAIM', key, group, me, idle, eid)
      if #c > 0 and c[1][2] then fields = c[1][2] else
        redis.call('XACK', key, group, eid)  -- deleted meanwhile
        eid = false
      end
    end
  else
    local r = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', 1,
                         'STREAMS', key, '>')
    if not r then return {0, expired, given_up} end
    eid, fields = r[1][2][1][1], r[1][2][1][2]
  end
  if eid then
    if id_ms(eid) < now - expiry then
      drop(key, group, eid)
      expired = expired + 1
    else
      if mode == 'once' then drop(key, group, eid) end
      return {1, expired, given_up, eid, fields[2], n}
    end
  end
end
return {0, expired, given_up}
"""
)

SETTLE = Script(
    _COMMON
    + """
-- After a blocking XREADGROUP handed this reader an entry.
-- ARGV: group, consumer, mode, entry id, expiry ms.
-- Returns 1 settled, 0 not ours any more (rescued by another reader), 2 expired.
local key, group, me, mode, eid = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local p = redis.call('XPENDING', key, group, eid, eid, 1)
if #p == 0 or p[1][2] ~= me then return 0 end
if id_ms(eid) < now_ms() - tonumber(ARGV[5]) then
  drop(key, group, eid)
  return 2
end
if mode == 'once' then drop(key, group, eid) end
return 1
"""
)

ACK = Script(
    """
-- Redeliver-once mode: the handler finished. ARGV: group, consumer, entry id.
-- Only the reader that holds the entry may acknowledge it (a claim moved it on).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end  -- a Redis restart
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
return 1
"""
)

FORGET = Script(
    """
-- On close: leave the group unless this reader still holds an entry (it must stay
-- claimable), and remove readers that hold nothing and have been idle ARGV[3] ms
-- (processes that died). ARGV: group, consumer, stale ms. Returns readers removed.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info.pending == 0 and (info.name == ARGV[2] or info.idle > tonumber(ARGV[3]))
  then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info.name)
    removed = removed + 1
  end
end
return removed
"""
)
