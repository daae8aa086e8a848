from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

from demo import views

urlpatterns = [
    path("", views.index, name="index"),
    path("echo/", views.echo, name="echo"),
    path("chat/", views.chat, name="chat-index"),
    path("chat/<str:room>/", views.chat, name="chat"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("notify/", views.notifications, name="notifications"),
    path("notify/post/", views.post_notification, name="post-notification"),
    path("session/", views.sessions, name="sessions"),
    path("clock/", views.clock, name="clock"),
    path("native/", views.native, name="native"),
    path("source/<path:path>", views.source, name="source"),
    path("accounts/", include("django.contrib.auth.urls")),
    # runserver serves static files itself; this serves them under a plain
    # ``daphne sample_site.asgi:application`` too (only with DEBUG on).
    *staticfiles_urlpatterns(),
]
