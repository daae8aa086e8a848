"""``AsgiRequest``: a Django ``HttpRequest`` built from a 1.x ``http.request`` message.

1.x code (and its HTTP-session decorators) built requests from messages shaped like
``{"reply_channel", "http_version", "method", "path", "root_path", "query_string",
"headers", "body", "client", "server"}``. Headers may be a list of ``[name, value]``
pairs (what servers send) or a dict (what 1.x's test client sent).
"""

from __future__ import annotations

import io
import sys
from typing import Any
from urllib.parse import unquote

from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, QueryDict

__all__ = ["AsgiRequest", "RequestAborted", "RequestTimeout"]


class RequestTimeout(Exception):
    """The request body did not arrive in time (1.x name)."""


class RequestAborted(Exception):
    """The client went away while the request body was arriving (1.x name)."""


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


class AsgiRequest(HttpRequest):
    """The request of one 1.x ``http.request``-shaped ``message``.

    A message that cannot be a request (not a dict, headers of the wrong shape, a
    ``body`` that is not bytes) raises ``ValueError``, as 1.x's ``http_session`` did.
    A streamed body (``body_channel``) is not supported: the whole body must be in
    ``body``.
    """

    def __init__(self, message: Any) -> None:
        content = getattr(message, "content", message)
        if not isinstance(content, dict):
            raise ValueError(f"Cannot build a request from {content!r}: not a dict.")
        if content.get("body_channel"):
            raise ValueError(
                "AsgiRequest does not read streamed bodies ('body_channel'); put the "
                "whole body in 'body'."
            )
        super().__init__()
        del self._post, self._files  # parsed from the body on first use
        self.message = message
        self.reply_channel = content.get("reply_channel")
        self.method = _text(content.get("method", "GET")).upper()
        root = _text(content.get("root_path", ""))
        path = unquote(_text(content.get("path", "/")))
        self.script_name = root
        self.path_info = path[len(root) :] if root and path.startswith(root) else path
        self.path = root + self.path_info if root else path
        query = _text(content.get("query_string", b""))
        self.META = {
            "REQUEST_METHOD": self.method,
            "QUERY_STRING": query,
            "SCRIPT_NAME": root,
            "PATH_INFO": self.path_info,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.errors": sys.stderr,
        }
        client, server = content.get("client"), content.get("server")
        if client:
            self.META["REMOTE_ADDR"], self.META["REMOTE_PORT"] = client[0], client[1]
        if server:
            self.META["SERVER_NAME"] = server[0]
            self.META["SERVER_PORT"] = str(server[1])
        else:
            self.META["SERVER_NAME"], self.META["SERVER_PORT"] = "unknown", "0"
        self._read_headers(content.get("headers") or [])
        body = content.get("body", b"")
        if not isinstance(body, bytes):
            raise ValueError(f"The request body must be bytes, not {body!r:.80}.")
        self.META.setdefault("CONTENT_LENGTH", str(len(body)))
        self._set_content_type_params(self.META)  # type: ignore[attr-defined]
        self._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]
        self._read_started = False
        self.GET = QueryDict(query, encoding="utf-8")
        self.COOKIES = _cookies(self.META.get("HTTP_COOKIE", ""))

    # POST and FILES are parsed from the body when first read (as WSGIRequest does).
    def _get_post(self) -> QueryDict:
        if not hasattr(self, "_post"):
            self._load_post_and_files()
        return self._post

    def _set_post(self, post: QueryDict) -> None:
        self._post = post

    def _get_files(self) -> Any:
        if not hasattr(self, "_files"):
            self._load_post_and_files()
        return self._files

    def _set_files(self, files: Any) -> None:
        self._files = files

    POST = property(_get_post, _set_post)
    FILES = property(_get_files, _set_files)

    def _read_headers(self, headers: Any) -> None:
        try:
            pairs = headers.items() if isinstance(headers, dict) else list(headers)
            for name, value in pairs:
                key = _text(name).upper().replace("-", "_")
                text = _text(value)
                if key == "CONTENT_TYPE":
                    self.META["CONTENT_TYPE"] = text
                elif key == "CONTENT_LENGTH":
                    self.META["CONTENT_LENGTH"] = text
                else:
                    meta = "HTTP_" + key
                    if meta in self.META:  # repeated headers join, as HTTP allows
                        joiner = "; " if key == "COOKIE" else ", "
                        text = self.META[meta] + joiner + text
                    self.META[meta] = text
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Cannot read the headers {headers!r:.200}: {exc}"
            ) from exc


def _cookies(header: str) -> dict[str, str]:
    from django.http.cookie import parse_cookie

    return parse_cookie(header)
