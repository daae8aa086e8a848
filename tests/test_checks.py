import pytest
from django.core import checks
from django.test import override_settings

from generic_consumers.checks import check_settings


def ids(errors):
    return [e.id for e in errors]


def test_checks_pass_for_the_test_settings():
    assert check_settings() == []


def test_checks_registered_with_django():
    assert check_settings in checks.registry.registry.get_checks()


@pytest.mark.parametrize(
    "value, expected",
    [
        ({}, ["generic_consumers.E003"]),
        ({"ROUTING": "tests.nowhere.routing"}, ["generic_consumers.E004"]),
        ({"ROUTING": [], "ROUTNG": "typo"}, ["generic_consumers.E002"]),
        ({"ROUTING": [], "CONNECT_TIMEOUT": "soon"}, ["generic_consumers.E005"]),
        ({"ROUTING": [], "MESSAGE_RETRIES": -1}, ["generic_consumers.E005"]),
        ({"ROUTING": [], "SYNC_THREADS": 0}, ["generic_consumers.E006"]),
        ({"ROUTING": [], "MAX_FRAME_SIZE": "1MB"}, ["generic_consumers.E006"]),
        ({"ROUTING": [], "MAX_OUTBOUND_BUFFER": 0}, ["generic_consumers.E006"]),
        ({"ROUTING": [], "CHANNEL_LAYER": "other"}, ["generic_consumers.W001"]),
        ({"ROUTING": [], "ACCEPT_UNDECIDED": "yes"}, ["generic_consumers.E007"]),
        ({"ROUTING": [], "REQUIRE_ORIGIN": 1}, ["generic_consumers.E007"]),
        ({"ROUTING": [], "CONNECT_TIMEOUT": 20}, ["generic_consumers.W003"]),
        ({"ROUTING": [], "LAYER_CONCURRENCY": None}, ["generic_consumers.E006"]),
        ({"ROUTING": [], "LAYER_RETRY_SECONDS": -1}, ["generic_consumers.E005"]),
    ],
)
def test_checks_report_bad_settings(value, expected):
    with override_settings(GENERIC_CONSUMERS=value):
        assert ids(check_settings()) == expected


def test_checks_name_the_unimportable_routing():
    with override_settings(GENERIC_CONSUMERS={"ROUTING": "tests.nowhere.routing"}):
        (error,) = check_settings()
    assert "tests.nowhere.routing" in error.msg


def test_checks_refuse_non_dict_setting():
    with override_settings(GENERIC_CONSUMERS=["ROUTING"]):
        assert ids(check_settings()) == ["generic_consumers.E001"]
