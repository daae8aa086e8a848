"""Two pages: one loads the bridge as a classic script, one as an ES module."""

from pathlib import Path

from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.http import HttpResponse
from django.urls import path

PAGES = Path(__file__).resolve().parent / "pages"


def page(name):
    def view(request):
        return HttpResponse((PAGES / name).read_text())

    return view


urlpatterns = [
    path("", page("classic.html")),
    path("module/", page("module.html")),
    path("legacy/", page("legacy.html")),
    path("keepalive/", page("keepalive.html")),
    path("streams/", page("streams.html")),
    *staticfiles_urlpatterns(),
]
