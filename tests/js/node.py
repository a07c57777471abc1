"""Running the JavaScript checks under ``tests/js`` (Node 20) from pytest.

Their dependencies are pinned in ``package-lock.json`` and installed by
``make js`` (``make test`` does it); a test that finds them missing installs
them the same way (``npm ci``), so a fresh clone needs nothing by hand.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def ensure_installed() -> str:
    """The node binary, with this folder's packages installed (``npm ci`` once)."""
    node = shutil.which("node")
    assert node, "Node.js 20 is needed for the JavaScript contract checks"
    if not (HERE / "node_modules" / ".installed").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install the JavaScript test dependencies"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            check=True,
            timeout=300,
        )
        (HERE / "node_modules" / ".installed").touch()
    return node


def run(
    script: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    node = ensure_installed()
    return subprocess.run(
        [node, str(HERE / script), *args],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
