"""generic_consumers.handler.AsgiRequest: a Django request from a 1.x message."""

import pytest

from generic_consumers.handler import AsgiRequest
from generic_consumers.message import Message


def http_message(**content):
    base = {
        "reply_channel": "http.response!abc",
        "http_version": "1.1",
        "method": "POST",
        "path": "/forum/post%20one/",
        "root_path": "",
        "query_string": b"page=2&tag=a&tag=b",
        "headers": [
            [b"host", b"testserver"],
            [b"content-type", b"application/x-www-form-urlencoded"],
            [b"cookie", b"sessionid=abc123; theme=dark"],
            [b"x-forwarded-for", b"10.0.0.1"],
        ],
        "body": b"title=Hello&body=World",
        "client": ["127.0.0.1", 51000],
        "server": ["127.0.0.1", 8000],
    }
    base.update(content)
    return Message(base, "http.request", None)


def test_asgi_request_from_a_1x_http_message():
    request = AsgiRequest(http_message())
    assert request.method == "POST"
    assert request.path == "/forum/post one/"
    assert request.GET.getlist("tag") == ["a", "b"] and request.GET["page"] == "2"
    assert request.POST["title"] == "Hello" and request.POST["body"] == "World"
    assert request.COOKIES == {"sessionid": "abc123", "theme": "dark"}
    assert request.META["REMOTE_ADDR"] == "127.0.0.1"
    assert request.META["SERVER_PORT"] == "8000"
    assert request.META["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"
    assert request.get_host() == "testserver"


def test_asgi_request_accepts_dict_headers_as_1x_test_clients_sent():
    headers = {"cookie": b"sessionid=xyz", "host": "example.com"}
    request = AsgiRequest(http_message(headers=headers, method="get", body=b""))
    assert request.method == "GET"
    assert request.COOKIES["sessionid"] == "xyz"


def test_asgi_request_root_path_splits_script_name():
    request = AsgiRequest(http_message(root_path="/app", path="/app/x/"))
    assert request.path_info == "/x/" and request.META["SCRIPT_NAME"] == "/app"


@pytest.mark.parametrize(
    "content",
    [
        {"headers": 42},
        {"headers": [[b"only-a-name"]]},
        {"body": "text, not bytes"},
        {"body_channel": "http.request.body!x"},
    ],
)
def test_asgi_request_refuses_messages_that_are_not_requests(content):
    with pytest.raises(ValueError):
        AsgiRequest(http_message(**content))
