import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

project = "generic_consumers"
author = "The generic_consumers developers"
copyright = "2026, " + author
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
html_theme = "furo"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
intersphinx_mapping = {}  # no network at build time: cross-references stay local
nitpicky = False
suppress_warnings = ["myst.header"]
exclude_patterns = ["_build"]
