"""``demo.thumbnails``: a slow job on a named channel, run by a plain ``BaseConsumer``.

The notifications page asks for a thumbnail; the request lands on the named channel,
where ``Thumbnailer`` handles it: in the server process (in-process workers, the
default) or in a ``manage.py runworkers`` process. The job reports progress with
``immediately=True``: without it the progress frames would be buffered until the job
returns, as every send inside a consumer is, and the page (and its Cancel button) would
see nothing until the end.

In-process, a job holds one of the server's ``SYNC_THREADS`` while it runs, and the
sockets that share that thread wait for it: real slow work belongs in ``runworkers``.
"""

import os
import time

from django.core.cache import cache

from generic_consumers.generic.base import BaseConsumer
from generic_consumers.generic.frames import encode_json

THUMBNAILS = "demo.thumbnails"
STEP_SECONDS = 0.2  # a pretend "render" step: this is the slow work of the demo
MAX_STEPS = 500


def cancel_key(job):
    return f"demo-thumbnail-cancel-{job}"


class Thumbnailer(BaseConsumer):
    """Renders a (pretend) thumbnail in steps; one instance per request."""

    method_mapping = {THUMBNAILS: "render"}

    def render(self, message, **kwargs):
        job, steps = message["job"], max(1, min(int(message["steps"]), MAX_STEPS))
        for step in range(steps):
            if cache.get(cancel_key(job)):
                self.report(job, "cancelled", step=step, steps=steps)
                return
            self.report(job, "rendering", step=step, steps=steps, immediately=True)
            time.sleep(STEP_SECONDS)
        # Buffered like any send in a consumer: it goes out when render returns.
        self.report(job, "done", step=steps, steps=steps, svg=svg(message["label"]))

    def report(self, job, state, immediately=False, **details):
        frame = {"job": job, "state": state, "worker_pid": os.getpid(), **details}
        self.message.reply_channel.send(
            {"text": encode_json(frame)}, immediately=immediately
        )


def svg(label):
    """The "thumbnail": a little SVG badge with the label on it."""
    text = label[:24].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40">'
        '<rect width="160" height="40" rx="6" fill="#2d6a4f"/>'
        f'<text x="80" y="25" fill="#fff" text-anchor="middle">{text}</text></svg>'
    )
