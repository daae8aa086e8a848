"""The system check validates every middleware entry, in settings and on routes."""

import pytest
from django.test import override_settings

from generic_consumers.checks import check_settings
from generic_consumers.middleware.stack import load_entry


def errors_for(middleware, routing="tests.middlewares.channel_routing"):
    with override_settings(
        GENERIC_CONSUMERS={"ROUTING": routing, "MIDDLEWARE": middleware}
    ):
        return check_settings()


def test_a_valid_stack_passes():
    assert (
        errors_for(
            [
                "generic_consumers.middleware.FrameLogMiddleware",
                ("generic_consumers.middleware.RateLimitMiddleware", {"rate": 5}),
                "tests.middlewares.shout",
                "tests.middlewares.sync_counter",
            ]
        )
        == []
    )


@pytest.mark.parametrize(
    "entry, says",
    [
        ("tests.middlewares.nowhere", "cannot be imported"),
        ("no_such_module.Thing", "cannot be imported"),
        ("tests.middlewares.not_a_factory", "is 42, which is not callable"),
        ("tests.middlewares.NotCallable", "instances are not callable"),
        (42, "is malformed"),
        (("tests.middlewares.shout",), "is malformed"),
        (("tests.middlewares.shout", "rate=5"), "is malformed"),
        (
            ("generic_consumers.middleware.RateLimitMiddleware", {"speed": 5}),
            "cannot be called as factory(handler, **{'speed': 5})",
        ),
        ("tests.middlewares.EVENTS", "which is not callable"),
        ("tests.middlewares.async_factory", "is an async def factory"),
    ],
)
def test_a_bad_entry_is_an_error_naming_it(entry, says):
    errors = errors_for(["tests.middlewares.shout", entry])
    assert [e.id for e in errors] == ["generic_consumers.E010"]
    assert errors[0].msg.startswith("GENERIC_CONSUMERS['MIDDLEWARE'][1]: ")
    assert says in errors[0].msg
    if isinstance(entry, str):
        assert repr(entry) in errors[0].msg


def test_middleware_must_be_a_list():
    errors = errors_for("tests.middlewares.shout")
    assert [e.id for e in errors] == ["generic_consumers.E010"]
    assert "must be a list of middleware entries" in errors[0].msg


def test_a_routed_consumers_stack_is_checked_too():
    errors = errors_for([], routing="tests.bad_middleware_routing.channel_routing")
    assert [e.id for e in errors] == ["generic_consumers.E010"]
    assert errors[0].msg.startswith(
        "tests.bad_middleware_routing.Broken.middleware[0]: Middleware "
        "'tests.middlewares.nowhere' cannot be imported"
    )


def test_load_entry_accepts_factories_and_pairs():
    from tests.middlewares import Recorder, shout

    assert load_entry(shout)[1:] == (shout, {})
    name, factory, options = load_entry((Recorder, {"tag": "x"}))
    assert name == "tests.middlewares.Recorder"
    assert (factory, options) == (Recorder, {"tag": "x"})
