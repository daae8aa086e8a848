"""The README's ten-line example runs as printed."""

import re
from pathlib import Path

from channels.testing import WebsocketCommunicator

from generic_consumers.asgi import RoutingApplication

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


def test_readme_settings_put_daphne_before_staticfiles():
    # Django runs the first app's runserver: staticfiles' would serve WSGI only.
    settings = {"INSTALLED_APPS": ["django.contrib.staticfiles", "myapp"]}
    exec(python_blocks()[1], settings)
    apps = settings["INSTALLED_APPS"]
    assert apps.index("daphne") < apps.index("django.contrib.staticfiles")
    assert {"channels", "generic_consumers", "myapp"} <= set(apps)
    assert settings["GENERIC_CONSUMERS"] == {
        "ROUTING": "mysite.routing.channel_routing"
    }


async def test_readme_chat_broadcasts_to_the_room():
    routing = {}
    exec(python_blocks()[0], routing)
    app = RoutingApplication(routing["channel_routing"])
    first = WebsocketCommunicator(app, "/chat/lobby/")
    second = WebsocketCommunicator(app, "/chat/lobby/")
    elsewhere = WebsocketCommunicator(app, "/chat/kitchen/")
    for communicator in (first, second, elsewhere):
        assert (await communicator.connect(timeout=1))[0]

    await first.send_json_to({"hello": "room"})
    for communicator in (first, second):
        assert await communicator.receive_json_from(timeout=1) == {"hello": "room"}
    assert await elsewhere.receive_nothing(timeout=0.2)

    # Room names that could not be group names match no route: rejected.
    unsafe = WebsocketCommunicator(app, "/chat/caf\u00e9 au lait/")
    assert not (await unsafe.connect(timeout=1))[0]
    for communicator in (first, second, elsewhere):
        await communicator.disconnect()
