"""The dashboard's bound model: lobby chat lines as data, with ``WebsocketBinding``.

Every create, update and delete of a lobby ``ChatMessage`` is pushed to open
dashboards on the ``messages`` stream once its transaction commits; a dashboard may
ask to delete its user's own lines. The binding registers when Django starts
(``DemoConfig.ready`` imports this module).
"""

from generic_consumers.binding.websockets import WebsocketBinding

from .models import ChatMessage

BOUND_GROUP = "dashboard-bound-messages"


class LobbyMessageBinding(WebsocketBinding):
    """Lobby lines on the ``messages`` stream."""

    model = ChatMessage
    stream = "messages"
    fields = ["room", "text", "sent_at"]

    @classmethod
    def group_names(cls, instance):
        return [BOUND_GROUP] if instance.room == "lobby" else []

    def has_permission(self, user, action, pk):
        # Only deletes, and only of the user's own lobby lines: anything else is
        # answered on the stream with {"error": "permission denied"}.
        if action != "delete" or not user.is_authenticated:
            return False
        return ChatMessage.objects.filter(pk=pk, user=user, room="lobby").exists()
