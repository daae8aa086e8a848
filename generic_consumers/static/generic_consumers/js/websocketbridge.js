/*
 * WebSocketBridge: a reconnecting WebSocket client that speaks the generic_consumers
 * stream format ({"stream": name, "payload": {...}}).
 *
 * A classic script: <script src="{% static 'generic_consumers/js/websocketbridge.js' %}">
 * defines the global channels.WebSocketBridge. For ES modules import
 * websocketbridge.mjs, which loads this file and exports the same class. In CommonJS,
 * require() returns {WebSocketBridge}. Types: websocketbridge.d.ts (this file, and the
 * global) and websocketbridge.d.mts (the module). No dependencies.
 */
(function (root) {
  "use strict";

  var DEFAULTS = {
    minReconnectionDelay: 1000, // ms before the first reconnection attempt (base)
    maxReconnectionDelay: 10000, // cap of the exponential backoff
    reconnectionDelayGrowFactor: 1.5, // backoff multiplier per failed attempt
    connectionTimeout: 4000, // ms an attempt may stay CONNECTING before it is dropped
    maxRetries: Infinity, // reconnection attempts in a row before giving up
    maxQueuedMessages: 1000, // sends kept while disconnected; the oldest go first
    shouldReconnect: null, // function (closeEvent) -> bool; default: always
    ignorePings: true, // keepalive pings ({"ping": ...}) go to "ping" listeners only
  };

  var EVENTS = ["open", "close", "reconnect", "error", "ping"];

  // A server keepalive ping: a JSON object whose only key is "ping" (the default
  // frame of the consumers' keepalive_interval). Cheap test first: most frames fail it.
  function pingOf(data) {
    if (typeof data !== "string" || data.lastIndexOf('{"ping"', 0) !== 0) return null;
    try {
      var frame = JSON.parse(data);
      for (var key in frame) if (key !== "ping") return null;
      return frame;
    } catch (err) {
      return null;
    }
  }
  var SOCKET_EVENTS = ["open", "message", "close", "error"];

  /*
   * bridge.socket: one object for the bridge's whole life, as 1.x's reconnecting
   * socket was. Listeners added to it (addEventListener, or onopen/onmessage/onclose/
   * onerror) are called for every native WebSocket the bridge opens, so a page that
   * re-joins its rooms on "open" keeps doing so after each reconnection.
   */
  function ReconnectingSocket(bridge) {
    this._bridge = bridge;
    this._listeners = {};
    for (var i = 0; i < SOCKET_EVENTS.length; i++) {
      this._listeners[SOCKET_EVENTS[i]] = [];
      this["on" + SOCKET_EVENTS[i]] = null;
    }
    this._binaryType = "blob";
  }

  ReconnectingSocket.prototype.addEventListener = function (type, listener) {
    var list = this._listeners[type];
    if (list && list.indexOf(listener) < 0) list.push(listener);
  };

  ReconnectingSocket.prototype.removeEventListener = function (type, listener) {
    var list = this._listeners[type] || [];
    var index = list.indexOf(listener);
    if (index >= 0) list.splice(index, 1);
  };

  /** Send now when open; otherwise queued by the bridge (1.x threw instead). */
  ReconnectingSocket.prototype.send = function (data) {
    this._bridge._sendRaw(data);
  };

  /**
   * As 1.x's reconnecting socket: close(code=1000, reason="", {keepClosed: false,
   * fastClose: true, delay: 0}). Without keepClosed the bridge connects again, after
   * `delay` ms when one is given.
   */
  ReconnectingSocket.prototype.close = function (code, reason, options) {
    var opts = options || {};
    if (opts.keepClosed) {
      this._bridge.close(code, reason);
      return;
    }
    this._bridge._restart(code || 1000, reason || "", opts.delay);
  };

  ReconnectingSocket.prototype._fire = function (type, event) {
    var handler = this["on" + type];
    var list = this._listeners[type].slice();
    if (typeof handler === "function") list.unshift(handler);
    for (var i = 0; i < list.length; i++) {
      try {
        list[i].call(this, event);
      } catch (err) {
        if (root.console) root.console.error("WebSocketBridge socket " + type + " listener failed:", err);
      }
    }
  };

  function proxy(name, fallback) {
    Object.defineProperty(ReconnectingSocket.prototype, name, {
      get: function () {
        var native = this._bridge._native;
        return native ? native[name] : fallback;
      },
    });
  }
  proxy("readyState", 3);
  proxy("url", "");
  proxy("protocol", "");
  proxy("extensions", "");
  proxy("bufferedAmount", 0);
  Object.defineProperty(ReconnectingSocket.prototype, "binaryType", {
    get: function () {
      return this._binaryType;
    },
    set: function (value) {
      this._binaryType = value;
      if (this._bridge._native) this._bridge._native.binaryType = value;
    },
  });
  ReconnectingSocket.CONNECTING = ReconnectingSocket.prototype.CONNECTING = 0;
  ReconnectingSocket.OPEN = ReconnectingSocket.prototype.OPEN = 1;
  ReconnectingSocket.CLOSING = ReconnectingSocket.prototype.CLOSING = 2;
  ReconnectingSocket.CLOSED = ReconnectingSocket.prototype.CLOSED = 3;

  function resolveUrl(url) {
    var loc = root.location;
    if (!loc) {
      if (!url) throw new Error("WebSocketBridge.connect() needs a URL outside a page");
      return url;
    }
    // No URL: the page's host, path "/" (as the 1.x bridge did).
    var resolved = new URL(url || "/", loc.href);
    if (resolved.protocol === "http:") resolved.protocol = "ws:";
    else if (resolved.protocol === "https:") resolved.protocol = "wss:";
    resolved.hash = "";
    return resolved.href;
  }

  function WebSocketBridge(options) {
    if (!(this instanceof WebSocketBridge)) return new WebSocketBridge(options);
    this.options = assign({}, DEFAULTS, options);
    this.socket = null; // a ReconnectingSocket once connect() ran (stable across retries)
    this._native = null; // the current native WebSocket
    this.streams = {}; // stream name -> callback(payload, stream)
    this._handles = {}; // stream name -> its stream(name) handle
    this.default_cb = null; // callback(message, null) for frames without a stream
    this.url = null;
    this.protocols = undefined;
    this._listeners = {};
    for (var i = 0; i < EVENTS.length; i++) this._listeners[EVENTS[i]] = [];
    this._queue = [];
    this._attempt = 0; // failed attempts since the last successful open
    this._opened = false; // has any socket of this bridge ever opened
    this._stopped = true; // close() was called (or connect() not yet)
    this._retryTimer = null;
    this._openTimer = null;
  }

  function assign(target) {
    for (var i = 1; i < arguments.length; i++) {
      var source = arguments[i];
      if (source) for (var key in source) {
        if (Object.prototype.hasOwnProperty.call(source, key)) target[key] = source[key];
      }
    }
    return target;
  }

  /**
   * Open the connection. `url` may be absolute (ws:, wss:, http:, https:), a path
   * ("/ws/"), relative to the page, or omitted (the page's host). Calling it again
   * replaces the current socket.
   */
  WebSocketBridge.prototype.connect = function (url, protocols, options) {
    if (options) assign(this.options, options);
    this.url = resolveUrl(url);
    this.protocols = protocols;
    this._stopped = false;
    this._attempt = 0;
    this._clearTimers();
    if (!this.socket) this.socket = new ReconnectingSocket(this);
    if (this._native) this._detach(this._native, true);
    this._open();
    return this;
  };

  /** Callback for frames that have no "stream" key: cb(message, null). */
  WebSocketBridge.prototype.listen = function (cb) {
    this.default_cb = cb || null;
    return this;
  };

  /** Callback for frames of one stream: cb(payload, stream). Replaces an earlier one. */
  WebSocketBridge.prototype.demultiplex = function (stream, cb) {
    this.streams[stream] = cb;
    return this;
  };

  /** Send obj as JSON now, or queue it until the socket is open. */
  WebSocketBridge.prototype.send = function (obj) {
    this._sendRaw(JSON.stringify(obj));
  };

  WebSocketBridge.prototype._sendRaw = function (data) {
    var socket = this._native;
    if (socket && socket.readyState === 1 && this._queue.length === 0) {
      socket.send(data);
      return;
    }
    this._queue.push(data);
    var overflow = this._queue.length - this.options.maxQueuedMessages;
    if (overflow > 0) {
      this._queue.splice(0, overflow);
      if (root.console) root.console.warn("WebSocketBridge: send queue full, dropped " + overflow + " oldest message(s)");
    }
  };

  /**
   * The handle of one stream, the same object for every call with that name:
   * bridge.stream("chat").send({...}) sends on it; its onclose(event) runs when the
   * server closes that stream alone ({"stream": "chat", "close": true or a code}),
   * with event = {stream: "chat", code: 1000 or the code}. The socket stays open.
   */
  WebSocketBridge.prototype.stream = function (name) {
    var handle = this._handles[name];
    if (!handle) {
      var bridge = this;
      handle = this._handles[name] = {
        name: name,
        onclose: null,
        send: function (payload) {
          bridge.send({ stream: name, payload: payload });
        },
      };
    }
    return handle;
  };

  /** Close for good: no reconnection until connect() is called again. */
  WebSocketBridge.prototype.close = function (code, reason) {
    this._stopped = true;
    this._clearTimers();
    if (this._native && this._native.readyState < 2) {
      this._native.close(code || 1000, reason || "");
    }
  };

  /** Subscribe to "open", "close", "reconnect", "error" or "ping" (a keepalive ping,
   * cb(event, {ping: value}); pings reach no other listener unless ignorePings is false). */
  WebSocketBridge.prototype.on = function (type, cb) {
    if (!this._listeners[type]) throw new Error("WebSocketBridge has no event " + JSON.stringify(type) + "; use one of " + EVENTS.join(", "));
    this._listeners[type].push(cb);
    return this;
  };

  WebSocketBridge.prototype.off = function (type, cb) {
    var list = this._listeners[type] || [];
    var index = list.indexOf(cb);
    if (index >= 0) list.splice(index, 1);
    return this;
  };

  WebSocketBridge.prototype.addEventListener = WebSocketBridge.prototype.on;
  WebSocketBridge.prototype.removeEventListener = WebSocketBridge.prototype.off;

  /** Messages waiting for the socket to open. */
  Object.defineProperty(WebSocketBridge.prototype, "queued", {
    get: function () {
      return this._queue.length;
    },
  });

  // -- internals ----------------------------------------------------------------------

  WebSocketBridge.prototype._emit = function (type, event, detail) {
    var list = this._listeners[type].slice();
    for (var i = 0; i < list.length; i++) {
      try {
        list[i].call(this, event, detail);
      } catch (err) {
        // One failing listener must not starve the others (or the reconnection).
        if (root.console) root.console.error("WebSocketBridge " + type + " listener failed:", err);
      }
    }
  };

  // bridge.socket.close() without keepClosed: drop this socket, connect again.
  WebSocketBridge.prototype._restart = function (code, reason, delay) {
    this._clearTimers();
    var native = this._native;
    if (native && native.readyState < 2) native.close(code, reason);
    if (typeof delay === "number") this._nextDelay = delay;
  };

  WebSocketBridge.prototype._open = function () {
    var bridge = this;
    var socket = new root.WebSocket(this.url, this.protocols);
    var facade = this.socket;
    this._native = socket;
    if (facade) socket.binaryType = facade.binaryType;
    this._openTimer = setTimeout(function () {
      if (socket.readyState === 0) socket.close(); // triggers close, then a retry
    }, this.options.connectionTimeout);
    socket.onopen = function (event) {
      clearTimeout(bridge._openTimer);
      var reconnected = bridge._opened;
      bridge._opened = true;
      bridge._attempt = 0;
      bridge._flush();
      if (facade) facade._fire("open", event);
      bridge._emit("open", event, { reconnected: reconnected });
      if (reconnected) bridge._emit("reconnect", event, {});
    };
    socket.onmessage = function (event) {
      if (bridge.options.ignorePings) {
        var ping = pingOf(event.data);
        if (ping) {
          // Not a message: listeners written before keepalives existed never see it.
          bridge._emit("ping", event, { ping: ping.ping });
          return;
        }
      }
      if (facade) facade._fire("message", event);
      bridge._dispatch(event.data);
    };
    socket.onerror = function (event) {
      if (facade) facade._fire("error", event);
      bridge._emit("error", event, {});
    };
    socket.onclose = function (event) {
      if (bridge._native !== socket) return;
      if (facade) facade._fire("close", event);
      clearTimeout(bridge._openTimer);
      var retry = !bridge._stopped && bridge._attempt < bridge.options.maxRetries &&
        (!bridge.options.shouldReconnect || bridge.options.shouldReconnect(event));
      var delay = retry ? bridge._delay() : null;
      if (retry && typeof bridge._nextDelay === "number") {
        delay = bridge._nextDelay;
        bridge._nextDelay = null;
      }
      bridge._emit("close", event, { willReconnect: retry, delay: delay });
      if (retry) {
        bridge._attempt += 1;
        bridge._retryTimer = setTimeout(function () {
          bridge._retryTimer = null;
          if (!bridge._stopped) bridge._open();
        }, delay);
      }
    };
  };

  // Capped exponential backoff with "equal jitter": half the delay is fixed, half
  // random, so clients dropped together do not come back together.
  WebSocketBridge.prototype._delay = function () {
    var o = this.options;
    var base = Math.min(o.maxReconnectionDelay, o.minReconnectionDelay * Math.pow(o.reconnectionDelayGrowFactor, this._attempt));
    return Math.round(base / 2 + Math.random() * (base / 2));
  };

  WebSocketBridge.prototype._flush = function () {
    var queue = this._queue;
    this._queue = [];
    for (var i = 0; i < queue.length; i++) this._native.send(queue[i]);
  };

  WebSocketBridge.prototype._dispatch = function (data) {
    var message;
    try {
      message = JSON.parse(data);
    } catch (err) {
      if (root.console) root.console.warn("WebSocketBridge: ignored a frame that is not JSON", data);
      return;
    }
    if (message !== null && typeof message === "object" && !Array.isArray(message) && "stream" in message) {
      if ("close" in message && !("payload" in message)) {
        // One stream closed by the server; the socket and the other streams go on.
        var handle = this._handles[message.stream];
        var code = message.close === true ? 1000 : message.close;
        if (handle && typeof handle.onclose === "function") {
          try {
            handle.onclose.call(handle, { stream: message.stream, code: code });
          } catch (err) {
            if (root.console) root.console.error("WebSocketBridge stream onclose failed:", err);
          }
        }
        return;
      }
      var cb = this.streams[message.stream];
      if (cb) cb.call(this, message.payload, message.stream);
      // A stream nobody listens to is dropped, as in 1.x.
    } else if (this.default_cb) {
      this.default_cb.call(this, message, null);
    }
  };

  WebSocketBridge.prototype._detach = function (socket, close) {
    socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    if (close && socket.readyState < 2) socket.close(1000, "");
  };

  WebSocketBridge.prototype._clearTimers = function () {
    clearTimeout(this._retryTimer);
    clearTimeout(this._openTimer);
    this._retryTimer = this._openTimer = null;
  };

  WebSocketBridge.DEFAULTS = DEFAULTS;
  WebSocketBridge.ReconnectingSocket = ReconnectingSocket;

  var namespace = root.channels || (root.channels = {});
  namespace.WebSocketBridge = WebSocketBridge;
  if (typeof module === "object" && module && module.exports) {
    module.exports = { WebSocketBridge: WebSocketBridge };
  }
})(typeof globalThis !== "undefined" ? globalThis : typeof self !== "undefined" ? self : this);
