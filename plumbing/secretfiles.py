"""Files that hold secrets: written owner-only and atomically, refused when others can read them.

Why atomically: a reader (``lantern info``, a restarted service) must never see
half a file, and a crash must never leave one.  The temporary file is created
``0600`` before a byte is written, so the secret is never readable by others,
not even for an instant, and :func:`os.replace` swaps it in.

Why refuse: outside development mode a key or password that others on the
machine can read is as good as published; start-up stops, naming the file.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from plumbing.settings import Settings

#: Secret-holding files Lantern keeps in its data directory.
DATA_DIR_SECRETS = ("run.json", "nats-users.json", "issuer.key", "cipher.key")


class SecretExposed(RuntimeError):
    """A secret file that others than its owner may read."""


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` readable by its owner only, all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older temporary file of the same name keeps its mode
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return path


def exposed(path: Path) -> bool:
    """Whether anyone but the owner may read or write ``path`` (a missing file is not)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def data_dir_secrets(data_dir: Path) -> list[Path]:
    """The secret files present under ``data_dir``: keys, passwords, the run file."""
    named = [data_dir / name for name in DATA_DIR_SECRETS]
    return [p for p in (*named, *sorted(data_dir.glob("*-keys.sqlite"))) if p.exists()]


def refuse_exposed(paths: Iterable[Path]) -> None:
    """Raise :class:`SecretExposed` naming the first file others may read."""
    for path in paths:
        if exposed(path):
            mode = stat.S_IMODE(path.stat().st_mode)
            raise SecretExposed(
                f"{path} holds a secret and others may read it (mode {mode:o}); "
                f"run `chmod 600 {path}` (development mode, --dev, does not check)"
            )


def refuse_unsafe(settings: Settings) -> None:
    """Outside development mode, start-up stops on a missing or public integrity key and on a
    secret file others may read (a missing store key or JWKS stops it where they are read:
    ``plumbing.store.select``, ``plumbing.access.trust``)."""
    if settings.dev_mode:
        return
    from plumbing.integrity.chainer import integrity_key

    integrity_key(dev_mode=False)
    refuse_exposed(data_dir_secrets(settings.data_dir))
