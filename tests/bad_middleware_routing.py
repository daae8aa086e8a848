"""A routing whose consumer declares a middleware stack that cannot load."""

from generic_consumers import route_class
from generic_consumers.generic.websockets import WebsocketConsumer


class Broken(WebsocketConsumer):
    middleware = ["tests.middlewares.nowhere"]


channel_routing = [route_class(Broken)]
