"""The one wrapper behind every session and auth decorator, sync or async.

A decorator is a tuple of *steps*. Before the consumer runs, each step's ``enter`` puts
something on the message (a session, a user); afterwards every entered step's ``leave``
runs in reverse order — also when the consumer raised — and saves what changed.

Stacked decorators (``http_user`` on a class adds ``channel_session_user`` *and*
``channel_session_user_from_http``) merge into a single wrapper. That matters for
``async def`` consumers: session stores and user lookups are blocking I/O, so their
steps run in a worker thread, and a merged wrapper pays one hop before the consumer and
at most one after it (none when nothing was modified), however many decorators it
carries.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .message import Message
from .runtime.threads import run_blocking

logger = logging.getLogger("generic_consumers")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Step:
    """``enter(message)`` before the consumer; ``leave(message, succeeded)`` after."""

    name: str
    enter: Callable[[Message], None]
    leave: Callable[[Message, bool], None] | None = None


def find_message(args: Sequence[Any], decorator: str) -> Message:
    """The Message among the first two positional arguments (functions and methods)."""
    for arg in args[:2]:
        if isinstance(arg, Message):
            return arg
    raise ValueError(f"{decorator} called without Message instance")


def _enter(message: Message, steps: tuple[Step, ...]) -> int:
    entered = 0
    try:
        for step in steps:
            step.enter(message)
            entered += 1
    except BaseException:
        _leave(message, steps, entered, False)
        raise
    return entered


def _leave(message: Message, steps: tuple[Step, ...], entered: int, ok: bool) -> None:
    error: BaseException | None = None
    for step in reversed(steps[:entered]):
        if step.leave is None:
            continue
        try:
            step.leave(message, ok)
        except Exception as exc:
            if ok and error is None:
                error = exc
            else:
                logger.exception("Saving the sessions of %r failed", message)
    if error is not None:
        raise error


def _dirty(message: Message) -> bool:
    # Leaving only ever saves sessions, and only modified ones: an async consumer that
    # changed nothing needs no thread hop afterwards.
    for name in ("channel_session", "http_session"):
        session = message.__dict__.get(name)
        if session is not None and session.modified:
            return True
    return False


def _sync_wrapper(
    name: str, target: Callable[..., Any], steps: tuple[Step, ...]
) -> Callable[..., Any]:
    @functools.wraps(target)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        message = find_message(args, name)
        entered = _enter(message, steps)
        ok = False
        try:
            result = target(*args, **kwargs)
            ok = True
            return result
        finally:
            _leave(message, steps, entered, ok)

    return wrapper


def _async_wrapper(
    name: str, target: Callable[..., Any], steps: tuple[Step, ...]
) -> Callable[..., Any]:
    # An ``async def`` wrapper, so the runtime still sees a coroutine function.
    @functools.wraps(target)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        message = find_message(args, name)
        entered = await run_blocking(_enter, message, steps)
        ok = False
        try:
            result = await target(*args, **kwargs)
            ok = True
            return result
        finally:
            if _dirty(message):
                await run_blocking(_leave, message, steps, entered, ok)

    return wrapper


# Only our own wrappers are merged: a user's functools.wraps() wrapper copies our
# attributes, but not our code.
_WRAPPER_CODES = frozenset(
    make("", print, ()).__code__ for make in (_sync_wrapper, _async_wrapper)
)


def decorator(name: str, steps: tuple[Step, ...]) -> Callable[[F], F]:
    """A consumer decorator running ``steps``; ``name`` appears in its errors."""

    def decorate(func: F) -> F:
        target: Callable[..., Any] = func
        all_steps = steps
        if inspect.isfunction(func) and func.__code__ in _WRAPPER_CODES:
            # Merge with the wrapper below: outer steps first, each step once.
            target = func._generic_consumers_target  # type: ignore[attr-defined]
            inner = func._generic_consumers_steps  # type: ignore[attr-defined]
            all_steps = steps + tuple(s for s in inner if s not in steps)
        make = _async_wrapper if inspect.iscoroutinefunction(target) else _sync_wrapper
        wrapper = make(name, target, all_steps)
        wrapper._generic_consumers_steps = all_steps  # type: ignore[attr-defined]
        wrapper._generic_consumers_target = target  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
