"""The routing of the keepalive and socket-task end-to-end tests
(tests/test_socket_e2e.py), served by real server processes with GC_TEST_ROUTING
pointing here."""

import asyncio

from generic_consumers import route_class
from generic_consumers.generic.websockets import (
    AsyncJsonWebsocketConsumer,
    JsonWebsocketConsumer,
)


class Pinging(JsonWebsocketConsumer):
    keepalive_interval = 0.1

    def receive(self, content, **kwargs):
        self.send({"echo": content})


class Ticker(JsonWebsocketConsumer):
    """A sync consumer whose socket ticks from connect until it closes."""

    def connect(self, message, **kwargs):
        super().connect(message, **kwargs)
        self.start_task("ticker", self.sleep_loop(self.tick, 0.05))

    def tick(self):
        self.send({"tick": True})

    def receive(self, content, **kwargs):
        self.stop_task("ticker")
        self.send({"stopped": True})


class TaskCount(AsyncJsonWebsocketConsumer):
    """Answers with the number of socket tasks alive in this server process."""

    async def receive(self, content, **kwargs):
        alive = [
            task
            for task in asyncio.all_tasks()
            if task.get_name().startswith("generic_consumers task")
        ]
        await self.send({"tasks": len(alive)})


channel_routing = [
    route_class(Pinging, path=r"^/ping/$"),
    route_class(Ticker, path=r"^/ticker/$"),
    route_class(TaskCount, path=r"^/tasks/$"),
]
