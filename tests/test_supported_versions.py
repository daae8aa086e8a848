"""What the package claims to support is what the matrix tests (issue #18)."""

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def noxfile_constant(name):
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise LookupError(name)


def version(text):
    return tuple(int(part) for part in text.split("."))


DJANGO_PYTHONS = noxfile_constant("DJANGO_PYTHONS")
PYTHONS = sorted({p for ps in DJANGO_PYTHONS.values() for p in ps}, key=version)


def classifiers(prefix):
    return {
        c.removeprefix(prefix)
        for c in PYPROJECT["project"]["classifiers"]
        if re.fullmatch(re.escape(prefix) + r"\d+\.\d+", c)
    }


def test_classifiers_name_each_python_and_django_of_the_matrix():
    assert classifiers("Programming Language :: Python :: ") == set(PYTHONS)
    assert classifiers("Framework :: Django :: ") == set(DJANGO_PYTHONS)


def test_requires_python_and_tool_targets_start_at_the_oldest_python():
    oldest = PYTHONS[0]
    assert PYPROJECT["project"]["requires-python"] == f">={oldest}"
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + oldest.replace(".", "")
    assert PYPROJECT["tool"]["mypy"]["python_version"] == oldest


def test_dependency_floors_are_the_releases_the_floors_session_installs():
    pinned = dict(pin.split("==") for pin in noxfile_constant("FLOORS"))
    requirements = [
        *PYPROJECT["project"]["dependencies"],
        *PYPROJECT["project"]["optional-dependencies"]["redis"],
    ]
    floors = dict(req.split(">=") for req in requirements)
    assert floors == pinned
    assert floors["Django"] == min(DJANGO_PYTHONS, key=version)


def test_the_docs_table_lists_each_pair():
    text = (ROOT / "docs" / "getting-started.rst").read_text()
    header = re.search(r"^Django +(Python .*)$", text, re.MULTILINE)
    assert header, "no supported-versions table in docs/getting-started.rst"
    columns = re.split(r" {2,}", header.group(1).strip())
    assert columns == [f"Python {p}" for p in PYTHONS]
    for django, pythons in DJANGO_PYTHONS.items():
        row = re.search(rf"^{re.escape(django)}( LTS)? +(.*)$", text, re.MULTILINE)
        assert row, f"no row for Django {django}"
        cells = re.split(r" {2,}", row.group(2).strip())
        marked = [p for p, cell in zip(PYTHONS, cells, strict=True) if cell == "yes"]
        assert marked == pythons
