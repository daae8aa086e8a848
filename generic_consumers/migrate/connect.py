"""Connect consumers that never accept: the pre-1.0 idiom, found across modules.

Before Channels 1.0 a socket was open as soon as it connected, so a
``websocket.connect`` consumer often only joined a group. Since 1.0 the handshake waits
for ``{"accept": True}`` (or a first frame, or a close), and such a consumer leaves it
hanging. This module follows every ``route("websocket.connect", ...)`` (and
``route_class`` / dict routing) to the function or method it names, in whichever project
module defines it, and reports the ones that neither accept nor reject.

It reads source only; it is a heuristic. A consumer that hands ``message`` to another
function, or sends something it built elsewhere, counts as deciding (no note).
"""

from __future__ import annotations

import ast

from .source import LineNote, const_str

__all__ = ["connect_notes"]

CONNECT = "websocket.connect"
_DECIDING_KEYS = {"accept", "text", "bytes", "close"}
_REJECTING = {"DenyConnection", "WebsocketCloseException"}
_FIX = (
    ', or set GENERIC_CONSUMERS["ACCEPT_UNDECIDED"] = True to accept sockets whose '
    "connect consumers return without deciding"
)
Target = tuple[str, str]  # (module, name defined in it)


class _Index:
    def __init__(self, modules: dict[str, ast.Module], packages: set[str]) -> None:
        self.modules = modules
        self.packages = packages

    def definition(self, module: str, name: str, depth: int = 0) -> Target | None:
        """Follow re-exports to the module that defines ``name``."""
        tree = self.modules.get(module)
        if tree is None or depth > 5:
            return None
        for node in tree.body:
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.name == name
            ):
                return module, name
        imported = self.imports(module).get(name)
        if imported is not None and imported[1] is not None:
            return self.definition(imported[0], imported[1], depth + 1)
        return None

    def imports(self, module: str) -> dict[str, tuple[str, str | None]]:
        """Local name → (module, name) or (module, None) for an imported module."""
        tree = self.modules[module]
        package = module if module in self.packages else module.rpartition(".")[0]
        found: dict[str, tuple[str, str | None]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        found[alias.asname] = (alias.name, None)
                    else:
                        head = alias.name.split(".")[0]
                        found[head] = (head, None)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".") if package else []
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join(p for p in [*parts, base] if p)
                for alias in node.names:
                    local = alias.asname or alias.name
                    dotted = f"{base}.{alias.name}" if base else alias.name
                    if dotted in self.modules:
                        found[local] = (dotted, None)
                    else:
                        found[local] = (base, alias.name)
        return found

    def resolve(self, module: str, node: ast.expr) -> Target | None:
        """The (module, name) a consumer expression in ``module`` refers to."""
        if (text := const_str(node)) is not None:
            owner, _, name = text.rpartition(".")
            return self.definition(owner, name) if owner else None
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        if not parts:
            local = self.definition(module, node.id)
            if local is not None:
                return local
        imported = self.imports(module).get(node.id)
        if imported is None:
            return None
        owner, imported_name = imported
        if imported_name is not None:
            return None if parts else self.definition(owner, imported_name)
        for part in parts[:-1]:
            owner = f"{owner}.{part}"
        return self.definition(owner, parts[-1]) if parts else None


def _routed(tree: ast.Module) -> list[tuple[ast.expr, bool]]:
    """Consumer expressions routed to websocket.connect: (expr, is a route_class)."""
    found: list[tuple[ast.expr, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if const_str(key) == CONNECT:
                    found.append((value, False))
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in ("route", "Route") and len(node.args) >= 2:
            channels = node.args[0]
            names = (
                [const_str(e) for e in channels.elts]
                if isinstance(channels, ast.List | ast.Tuple)
                else [const_str(channels)]
            )
            if CONNECT in names:
                found.append((node.args[1], False))
        elif name in ("route_class", "RouteClass") and node.args:
            found.append((node.args[0], True))
        elif name == "as_route" and isinstance(func, ast.Attribute):
            found.append((func.value, True))
    return found


def _decides(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    params = [a.arg for a in function.args.posonlyargs + function.args.args]
    message = params[1] if params and params[0] in ("self", "cls") else None
    message = message or (params[0] if params else None)
    for node in ast.walk(function):
        if isinstance(node, ast.Dict) and "accept" in {const_str(k) for k in node.keys}:
            return True
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = exc.id if isinstance(exc, ast.Name) else getattr(exc, "attr", "")
            if name in _REJECTING:
                return True
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        attr = func.attr if isinstance(func, ast.Attribute) else None
        if attr == "close":
            return True
        if attr == "connect" and isinstance(func, ast.Attribute):
            inner = func.value
            if isinstance(inner, ast.Call) and getattr(inner.func, "id", "") == "super":
                return True
        if attr == "send":
            if {k.arg for k in node.keywords} & _DECIDING_KEYS:
                return True
            for arg in node.args:
                if not isinstance(arg, ast.Dict):
                    return True  # built elsewhere: cannot tell, assume it decides
                if {const_str(k) for k in arg.keys} & _DECIDING_KEYS:
                    return True
        if any(isinstance(a, ast.Name) and a.id == message for a in node.args):
            return True  # handed on to code we do not follow
    return False


def _connect_method(cls: ast.ClassDef) -> str:
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "method_mapping" for t in node.targets
        ):
            if isinstance(node.value, ast.Dict):
                for key, value in zip(node.value.keys, node.value.values, strict=True):
                    if const_str(key) == CONNECT and const_str(value):
                        return str(const_str(value))
    return "connect"


def connect_notes(
    modules: dict[str, ast.Module], packages: set[str]
) -> dict[str, list[LineNote]]:
    """Notes per module for connect consumers that never accept nor reject."""
    index = _Index(modules, packages)
    targets: set[tuple[Target, bool]] = set()
    for module, tree in modules.items():
        for expr, is_class in _routed(tree):
            target = index.resolve(module, expr)
            if target is not None:
                targets.add((target, is_class))
    notes: dict[str, list[LineNote]] = {}
    for (module, name), is_class in sorted(targets):
        node = next(
            n
            for n in modules[module].body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and n.name == name
        )
        if isinstance(node, ast.ClassDef):
            if not is_class:
                continue
            method_name = _connect_method(node)
            method = next(
                (
                    n
                    for n in node.body
                    if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                    and n.name == method_name
                ),
                None,
            )
            if method is None or _decides(method):
                continue
            text = (
                f"{name}.{method_name}() neither accepts nor rejects the socket: call "
                f"super().{method_name}(message, **kwargs) or send "
                '{"accept": True} on self.message.reply_channel'
            )
            notes.setdefault(module, []).append(LineNote(method.lineno, text + _FIX))
        elif not is_class and not _decides(node):
            text = (
                f"{name} handles websocket.connect but never accepts or rejects the "
                "socket (the pre-1.0 idiom; since 1.0 the handshake waits for an "
                'answer): add message.reply_channel.send({"accept": True})'
            )
            notes.setdefault(module, []).append(LineNote(node.lineno, text + _FIX))
    return notes
