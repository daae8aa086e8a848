"""Port a Channels 1.x project: ``python -m generic_consumers.migrate PROJECT_DIR``.

It runs on the unported project: nothing of the project is imported and no Django
settings are needed. :func:`plan` reads the project and returns a :class:`Report`
(the changes as unified diffs, and :class:`Note` s for what a human must decide);
:meth:`Report.apply` writes the changes. Running it again on the result changes
nothing.

The modules, one concern each: ``imports`` (1.x import paths), ``settings`` and
``backends`` (``CHANNEL_LAYERS``, ``GENERIC_CONSUMERS``, ``INSTALLED_APPS``),
``entry`` (``asgi.py``), ``templates`` (the JavaScript bridge), ``connect`` and
``notes`` (what needs a human), ``project`` (walking the files), ``report``.
"""

from .project import plan, rewrite_python
from .report import Change, Note, Report

__all__ = ["Change", "Note", "Report", "plan", "rewrite_python"]
