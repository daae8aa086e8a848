"""Small helpers 1.x code imports from ``channels.utils``."""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["name_that_thing"]


def name_that_thing(thing: Any) -> str:
    """A readable dotted name for ``thing``, for log lines and error messages.

    Functions and classes give ``module.QualifiedName``, bound methods
    ``module.Class.method``, other objects the name of their class; anything without a
    name its ``repr``.
    """
    if inspect.ismethod(thing):
        owner = thing.__self__
        owner_name = name_that_thing(owner if inspect.isclass(owner) else type(owner))
        return f"{owner_name}.{thing.__func__.__name__}"
    name = getattr(thing, "__qualname__", None) or getattr(thing, "__name__", None)
    if isinstance(name, str) and (inspect.isclass(thing) or callable(thing)):
        module = getattr(thing, "__module__", None)
        if isinstance(module, str) and (
            inspect.isclass(thing)
            or inspect.isfunction(thing)
            or inspect.isbuiltin(thing)
        ):
            return f"{module}.{name}"
    if not inspect.isclass(thing) and hasattr(thing, "__class__"):
        cls = type(thing)
        if cls.__module__ != "builtins":
            return name_that_thing(cls)
    return repr(thing)
