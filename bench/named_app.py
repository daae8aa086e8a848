"""What part (e)'s worker processes run: one answer per named-channel message.

``routing`` is ours (``manage.py runworkers``: Redis Streams); ``application`` is a
Channels 4 consumer for Channels' ``runworker`` (the layer's own receive). Both
answer on the reply channel named in the message, with the message's number.
"""

from channels.consumer import AsyncConsumer
from channels.routing import ChannelNameRouter, ProtocolTypeRouter

from generic_consumers import Channel, route

OURS = "bench.named"
CHANNELS4 = "bench.c4named"


async def answer(message):
    await Channel(message["reply"]).asend({"n": message["n"]})


routing = [route(OURS, answer)]


class Answer(AsyncConsumer):
    async def bench_named(self, message):
        reply = {"type": "bench.reply", "n": message["n"]}
        await self.channel_layer.send(message["reply"], reply)


application = ProtocolTypeRouter(
    {"channel": ChannelNameRouter({CHANNELS4: Answer.as_asgi()})}
)
