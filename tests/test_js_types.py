"""The JS client as JS users consume it: its TypeScript declarations type-check (with
``tsc``), and Node loads it both as an ES module and through ``require``.

``tsc`` comes from ``make js-tools`` (run by ``make test``: TypeScript 5 in
``.node/``), from ``$TSC`` or from PATH; without it the type check is skipped. Node
tests are skipped without ``node``. With ``REQUIRE_NODE=1`` (as in CI) those skips are
failures. The browser side is in tests/test_browser.py.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "generic_consumers" / "static" / "generic_consumers" / "js"


def find_tsc() -> str | None:
    for candidate in (
        os.environ.get("TSC"),
        str(ROOT / ".node" / "node_modules" / ".bin" / "tsc"),
        shutil.which("tsc"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_declarations_type_check_and_catch_mistakes():
    tsc = find_tsc()
    if tsc is None:
        missing("tsc not found: run 'make js-types' (needs node and npm)")
    # tests/js/module_usage.mts also holds @ts-expect-error lines: declarations that
    # were too loose (anything typed `any`) would fail the check too.
    result = run([tsc, "-p", "tests/js"])
    assert result.returncode == 0, result.stdout + result.stderr


def missing(reason: str) -> None:
    if os.environ.get("REQUIRE_NODE") == "1":
        pytest.fail(reason + " (REQUIRE_NODE=1 turns this skip into a failure)")
    pytest.skip(reason)


@pytest.fixture
def node_installed() -> None:
    if shutil.which("node") is None:
        missing("node not installed")


node = pytest.mark.usefixtures("node_installed")


@node
def test_node_imports_the_es_module_with_named_and_default_exports():
    module = str(JS / "websocketbridge.mjs")
    script = (
        f"import Bridge, {{ WebSocketBridge }} from {module!r};"
        "if (Bridge !== WebSocketBridge) process.exit(1);"
        "if (typeof Bridge !== 'function') process.exit(1);"
        "if (globalThis.channels.WebSocketBridge !== Bridge) process.exit(2);"
        "console.log(new Bridge().stream('s').name);"
    )
    result = run(["node", "--input-type=module", "-e", script])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "s"


@node
def test_node_requires_the_script_as_commonjs():
    script = (
        f"const m = require({str(JS / 'websocketbridge.js')!r});"
        "console.log(Object.keys(m).join(','), typeof m.WebSocketBridge);"
    )
    result = run(["node", "-e", script])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "WebSocketBridge function"


def test_package_json_points_at_files_that_exist():
    import json

    package = json.loads((JS / "package.json").read_text())
    paths = [package["main"], package["module"], package["types"]]
    for condition in package["exports"]["."].values():
        paths += condition.values()
    for path in paths:
        assert (JS / path).is_file(), path
    assert sorted(package["files"]) == sorted({Path(p).name for p in paths})
