"""The support matrix: the suite on every supported Python x Django pair.

``make matrix`` runs ``nox`` (from ``.venv``). ``make test`` already runs the full suite
(browser, Redis, end-to-end) on the default pair, Python 3.11 x Django 5.2, so the
matrix runs the unit and protocol suites on every other pair, and on the oldest
releases pyproject.toml allows (``floors``). ``nox -t full`` runs the full suite on the
default pair in a nox venv; ``nox -l`` lists the sessions.

Interpreters are looked up on PATH and, where pyenv is installed, under its root (the
newest patch release of each minor version): pyenv's shims only run the active version.
A missing interpreter is skipped with a message on a developer's machine and fails the
run in CI (``CI`` set), except those in ``OPTIONAL_PYTHONS``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

# Keep in step with pyproject.toml (requires-python, classifiers) and
# docs/getting-started.rst (the table).
DJANGO_PYTHONS = {
    "5.2": ["3.11", "3.12", "3.13", "3.14"],
    "6.0": ["3.12", "3.13", "3.14"],
    "6.1": ["3.12", "3.13", "3.14"],
}
FULL_PAIR = ("3.11", "5.2")  # what `make test` runs, with everything
# No 3.14 on the CI machine yet (pyenv there has no way to download one): its sessions
# run wherever an interpreter is found, and are skipped with a message, in CI too.
OPTIONAL_PYTHONS = {"3.14"}
UNIT_SUITE = "not e2e and not browser and not redis"

nox.options.reuse_venv = "yes"
nox.options.download_python = "never"  # no interpreter downloads: only what is here
nox.options.error_on_missing_interpreters = False  # `interpreters` decides, below
nox.options.tags = ["matrix"]


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split("."))


PYTHONS = sorted({p for ps in DJANGO_PYTHONS.values() for p in ps}, key=_version_key)


def _pyenv_pythons() -> dict[str, Path]:
    """The newest pyenv-installed patch release of each minor version."""
    pyenv = shutil.which("pyenv")
    root = os.environ.get("PYENV_ROOT")
    if not root and pyenv:
        root = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, check=False
        ).stdout.strip()
    if not root:
        return {}
    newest: dict[str, Path] = {}
    for home in Path(root, "versions").glob("3.*"):
        if not re.fullmatch(r"3\.\d+\.\d+", home.name):  # not -dev, t, or a venv
            continue
        minor = home.name.rpartition(".")[0]
        binary = home / "bin" / f"python{minor}"
        older = newest.get(minor)
        if binary.is_file() and (
            older is None
            or _version_key(home.name) > _version_key(older.parent.parent.name)
        ):
            newest[minor] = binary
    return newest


def _runs(binary: str, minor: str) -> bool:
    """True if ``binary`` runs Python ``minor`` (a pyenv shim may refuse to)."""
    probe = subprocess.run(
        [binary, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == minor


def _find_interpreters() -> dict[str, str]:
    found: dict[str, str] = {}
    pyenv = _pyenv_pythons()
    for minor in PYTHONS:
        on_path = shutil.which(f"python{minor}")
        if on_path and _runs(on_path, minor):
            found[minor] = on_path
        elif minor in pyenv and _runs(str(pyenv[minor]), minor):
            found[minor] = str(pyenv[minor])
    return found


INTERPRETERS = _find_interpreters()
# nox finds `pythonX.Y` on PATH: put each one found under pyenv's root first, ahead
# of the shims (which only run pyenv's active version).
os.environ["PATH"] = os.pathsep.join(
    [str(Path(path).parent) for path in INTERPRETERS.values()]
    + [os.environ.get("PATH", "")]
)


@nox.session(python=False, tags=["matrix", "full"])
def interpreters(session: nox.Session) -> None:
    """Say which interpreters run the matrix; in CI, fail if one is missing."""
    for minor in PYTHONS:
        where = INTERPRETERS.get(minor, "not found on PATH nor under pyenv's root")
        session.log(f"Python {minor}: {where}")
    missing = [p for p in PYTHONS if p not in INTERPRETERS]
    optional = [p for p in missing if p in OPTIONAL_PYTHONS]
    if optional:
        session.warn(
            f"No Python {', '.join(optional)} here: its sessions are skipped "
            "(install one, e.g. `pyenv install 3.14`, and they run)."
        )
    required = [p for p in missing if p not in OPTIONAL_PYTHONS]
    if required and os.environ.get("CI"):
        session.error(
            f"CI must test every supported Python; missing: {', '.join(required)}. "
            f"Install each (e.g. `pyenv install {required[0]}`) or put "
            f"python{required[0]} on PATH"
        )
    elif required:
        session.warn(
            f"Python {', '.join(required)} not found: its sessions are skipped "
            "here, and would fail in CI."
        )


def _pairs() -> list[nox.Param]:
    pairs = []
    for django, pythons in DJANGO_PYTHONS.items():
        for python in pythons:
            tag = "full" if (python, django) == FULL_PAIR else "matrix"
            pairs.append(nox.param(python, django, tags=[tag]))
    return sorted(pairs, key=lambda p: (_version_key(p.args[0]), p.args[1]))


@nox.session
@nox.parametrize(["python", "django"], _pairs())
def tests(session: nox.Session, django: str) -> None:
    """The suite on one pair: all of it on FULL_PAIR, the unit suites elsewhere."""
    session.install("-e", ".[test,redis,server]", f"Django~={django}.0")
    session.run("python", "-m", "django", "--version")
    args = ["-q", "-p", "no:cacheprovider", *session.posargs]
    if (session.python, django) != FULL_PAIR:
        args += ["-m", UNIT_SUITE]
    session.run("python", "-m", "pytest", *args)


# The oldest releases pyproject.toml allows (channels_redis 4.3 needs asgiref 3.9.1).
FLOORS = ["Django==5.2", "channels==4.2.2", "asgiref==3.8.1", "channels-redis==4.2.1"]


@nox.session(python=PYTHONS[0], tags=["matrix"])
def floors(session: nox.Session) -> None:
    """The unit suites on the oldest Python, Django, Channels and asgiref we allow."""
    session.install("-e", ".[test,redis,server]", *FLOORS)
    session.run("python", "-m", "pip", "freeze", "--exclude-editable", silent=False)
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        UNIT_SUITE,
        *session.posargs,
    )
