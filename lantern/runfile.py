"""Where the running system is.

Written by ``lantern up`` under the data dir; read by every other command.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RUNFILE = "run.json"


def default_data_dir() -> Path:
    return Path(os.environ.get("LANTERN_DATA_DIR", ".lantern"))


def write(data_dir: Path, info: dict[str, Any]) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / RUNFILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(path)
    return path


def read(data_dir: Path) -> dict[str, Any]:
    path = data_dir / RUNFILE
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise LookupError(
            f"no running Lantern found ({path} is missing); start one with `lantern up`"
        ) from None
    return info


def remove(data_dir: Path) -> None:
    (data_dir / RUNFILE).unlink(missing_ok=True)
