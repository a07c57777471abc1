"""Where the running system is.

Written by ``lantern up`` under the data dir; read by every other command.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from plumbing.secretfiles import write_private

RUNFILE = "run.json"
#: The embedded server's passwords, one per NATS user (``lantern.natsserver.credentials``).
USERS_FILE = "nats-users.json"


def default_data_dir() -> Path:
    return Path(os.environ.get("LANTERN_DATA_DIR", ".lantern"))


def write(data_dir: Path, info: dict[str, Any]) -> Path:
    """Owner-only and atomic (it says where everything listens, and as whom)."""
    return write_private(data_dir / RUNFILE, json.dumps(info, indent=2))


def read(data_dir: Path) -> dict[str, Any]:
    """What ``up`` recorded; ``nats_url`` with the credentials of its ``nats_user``.

    The file itself holds no password: ``up`` records the user, and the password
    is read from ``nats-users.json`` (owner-only) beside it, here, for whoever may.
    """
    path = data_dir / RUNFILE
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise LookupError(
            f"no running Lantern found ({path} is missing); start one with `lantern up`"
        ) from None
    user = info.get("nats_user")
    if user:
        passwords = json.loads((data_dir / USERS_FILE).read_text())
        scheme, _, address = str(info["nats_url"]).partition("://")
        info["nats_url"] = f"{scheme}://{user}:{passwords[user]}@{address}"
    return info


def dev_mode(data_dir: Path) -> bool | None:
    """True when the running ``lantern up`` here was asked for development mode.

    So a tool run beside ``make up`` (``lantern whatif``, ``lantern audit verify``)
    reads its development keys; None leaves it to ``LANTERN_DEV_MODE``.
    """
    try:
        return True if read(data_dir).get("dev_mode") is True else None
    except (LookupError, ValueError):
        return None


def remove(data_dir: Path) -> None:
    (data_dir / RUNFILE).unlink(missing_ok=True)
