"""What a fresh install gets is what CI tests: the README's commands install pinned versions.

The README's two commands (and `.ci/run`, which runs the second) are read as written and
their pip install is resolved as a brand-new venv would resolve it (`--dry-run
--ignore-installed`): every package pip picks must be pinned in constraints.txt, at that
version, and the test run itself must be running those versions.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from importlib import metadata

import pytest

from tests.e2e.conftest import REPO_ROOT

COMMAND = re.compile(r"^python3 -m venv \.venv && (\.venv/bin/pip install [^&]+?) && ", re.M)


def readme_installs() -> list[str]:
    return COMMAND.findall((REPO_ROOT / "README.md").read_text())


def pinned() -> dict[str, str]:
    path = REPO_ROOT / "constraints.txt"
    assert path.exists(), "no constraints.txt: a fresh install gets whatever is newest"
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_readme_has_two_commands_and_ci_runs_the_second_as_written() -> None:
    installs = readme_installs()
    assert len(installs) == 2, installs
    assert all("-c constraints.txt" in command for command in installs), installs
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert installs[1] in ci


@pytest.mark.parametrize("which", [0, 1], ids=["run", "test"])
def test_a_fresh_install_by_the_readme_gets_exactly_the_pinned_versions(which: int) -> None:
    pins = pinned()
    args = shlex.split(readme_installs()[which])[2:]  # after ".venv/bin/pip install"
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--report",
            "-",
            "--quiet",
            *args,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    chosen = {
        _normal(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.stdout)["install"]
        if _normal(item["metadata"]["name"]) != "peerbot"
    }
    assert chosen, report.stderr
    unpinned = sorted(set(chosen) - set(pins))
    assert not unpinned, f"installed but not pinned: {unpinned}"
    assert {name: chosen[name] for name in chosen} == {name: pins[name] for name in chosen}


def test_the_tests_run_on_the_pinned_versions() -> None:
    pins = pinned()
    for name in ("aiogram", "sqlalchemy", "pydantic", "aiohttp", "asyncpg", "alembic"):
        assert metadata.version(name) == pins[name], name
