"""Where ``lantern audit verify`` reads the signed anchors from; fast, or not at all.

Verification reads the stores directly; the anchors (each store's newest
signed chain head) live in JetStream.  They are read from, in this order:

1. a NATS it is pointed to: ``--nats-url`` or ``LANTERN_NATS_URL``;
2. the running system's NATS, when a ``lantern up`` holds the data directory
   (its ``run.json`` says where);
3. the data directory's own embedded JetStream store, when the system is
   stopped: verify starts a private nats-server of its own on it (a free
   loopback port, no other client), reads the anchors and stops it, holding
   the data directory's lock meanwhile so ``up`` cannot start on it.

It never falls back to a default address: another NATS on 4222 holds other
anchors (or none), and reading them reported intact history as altered.
Anything unreachable is one line and exit 3 within :data:`DEADLINE_S`.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lantern import lock, natsserver, runfile

#: The most an unreachable NATS may cost (the CLI answers within 5 s in all, start-up included).
DEADLINE_S = 3.0


class AnchorsUnreadable(Exception):
    pass


@dataclass(frozen=True)
class Source:
    """Where the anchors come from, in words for the report."""

    kind: str  # pointed | running | embedded | none
    url: str
    detail: str


def source(data_dir: Path, nats_url: str | None) -> Source:
    pointed = nats_url or os.environ.get("LANTERN_NATS_URL", "")
    if pointed:
        return Source("pointed", pointed, f"the NATS given ({_safe(pointed)})")
    if lock.holder(data_dir) is not None:
        try:
            running = runfile.read(data_dir)
        except LookupError:
            running = {}
        if running.get("nats_url"):
            url = str(running["nats_url"])
            return Source("running", url, f"the running system's NATS ({_safe(url)})")
    if (data_dir / "nats" / "jetstream").is_dir():
        return Source("embedded", "", f"the embedded JetStream store in {data_dir / 'nats'}")
    return Source(
        "none",
        "",
        f"no NATS given, no running system and no embedded store in {data_dir}: "
        "give --nats-url, or --offline to verify the stores alone",
    )


def _safe(url: str) -> str:
    """A URL without its password (it may be the operator's)."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def read(data_dir: Path, where: Source, prefix: str, stores: list[str]) -> dict[str, Any]:
    """The newest checkpoint of each store, or :class:`AnchorsUnreadable` (one clear line)."""
    if where.kind == "none":
        raise AnchorsUnreadable(where.detail)
    if where.kind != "embedded":
        _reachable(where.url, where)
        return _within(_latest(where.url, prefix, stores), where)
    try:
        held = lock.DataDirLock(data_dir, "lantern audit verify").acquire()
    except lock.Locked as exc:
        raise AnchorsUnreadable(f"cannot open the embedded store: {exc}") from None
    try:
        port = natsserver.free_port()
        (data_dir / "logs").mkdir(parents=True, exist_ok=True)
        try:
            server = natsserver.start(
                port=port,
                store_dir=data_dir / "nats",
                log_file=data_dir / "logs" / "verify-nats.log",
                config_name="verify-nats.conf",
            )
        except RuntimeError as exc:
            raise AnchorsUnreadable(f"{where.detail}: {exc}") from None
        try:
            return _within(_latest(natsserver.url_for(port), prefix, stores), where)
        finally:
            server.terminate()
            try:
                server.wait(10)
            except Exception:  # noqa: BLE001 - it must not outlive us
                server.kill()
    finally:
        held.release()


def _reachable(url: str, where: Source) -> None:
    """Refuse at once when nothing listens (nats-py would retry until the deadline)."""
    parsed = urlparse(url)
    try:
        socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 4222), timeout=DEADLINE_S / 2
        ).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise AnchorsUnreadable(f"anchors unreachable: {where.detail}: {reason}") from None


def _within(reading: Any, where: Source) -> dict[str, Any]:
    try:
        found: dict[str, Any] = asyncio.run(asyncio.wait_for(reading, DEADLINE_S))
    except TimeoutError:
        raise AnchorsUnreadable(
            f"anchors unreachable: {where.detail} did not answer within {DEADLINE_S:.0f} s"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any failure is one line, never a traceback
        raise AnchorsUnreadable(f"anchors unreachable: {where.detail}: {_reason(exc)}") from None
    return found


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _latest(url: str, prefix: str, stores: list[str]) -> dict[str, Any]:
    import nats

    from events.subjects import Subjects
    from plumbing.integrity.chainer import latest_checkpoints
    from plumbing.messaging import natsurl

    async def quiet(_: Exception) -> None:
        """nats-py logs every connection error with a traceback unless told otherwise."""

    nc = await nats.connect(
        url,
        connect_timeout=DEADLINE_S / 2,
        allow_reconnect=False,
        max_reconnect_attempts=0,
        error_cb=quiet,
        **natsurl.options(url),
    )
    try:
        return await latest_checkpoints(nc.jetstream(), Subjects(prefix), stores)
    finally:
        await nc.close()
