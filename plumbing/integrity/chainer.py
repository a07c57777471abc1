"""The chainer every service runs, the anchors it publishes, and the verification of a store.

Why a background chainer and not a hash column written with each event: the
eventsourcing recorder owns the insert, and the chain must not slow or endanger
a command's commit.  The chainer follows the store's notification log instead
(like the outbox relay), appends ``(position, record hash, chain hash)`` rows
to the chain table, and publishes the signed head to ``<PREFIX>_INTEGRITY``, a
stream that denies delete and purge.  Records newer than the last chain row
are *pending* for at most a poll interval.

The integrity key comes from ``LANTERN_INTEGRITY_KEY``.  In development mode
(``LANTERN_DEV_MODE=1``, ``lantern up --dev``) a fixed, public dev key is used
when it is unset; outside development mode the chainer refuses to run without
one, or with that public key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import anyio
import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from events import headers as h
from events.codec import ContractError, decode, encode
from events.records import IntegrityCheckpointV1
from events.subjects import Subjects
from plumbing import logs
from plumbing.integrity.chain_store import ChainStore, chain_store_for
from plumbing.integrity.verify import GENESIS, Checkpoint, Verdict, extend, sign, verify
from plumbing.messaging import natsurl
from plumbing.messaging.streams import integrity_stream
from plumbing.settings import Settings, nats_servers

log = logs.get("lantern.integrity")

KEY_VARIABLE = "LANTERN_INTEGRITY_KEY"
DEV_KEY = "lantern-development-integrity-key (public; never use in production)"


class IntegrityKeyMissing(RuntimeError):
    pass


def integrity_key(dev_mode: bool, env: dict[str, str] | None = None) -> bytes:
    value = (env if env is not None else dict(os.environ)).get(KEY_VARIABLE, "")
    if value == DEV_KEY and not dev_mode:
        raise IntegrityKeyMissing(f"{KEY_VARIABLE} is the public development key")
    if value:
        return value.encode()
    if dev_mode:
        return DEV_KEY.encode()
    raise IntegrityKeyMissing(f"{KEY_VARIABLE} is required outside development mode")


async def ensure_integrity_stream(js: JetStreamContext, subjects: Subjects) -> None:
    """The anchors' stream normally comes with provisioning; create it if allowed and missing."""
    try:
        await js.stream_info(subjects.integrity_stream)
    except NotFoundError:
        await js.add_stream(config=integrity_stream(subjects))


class Chainer:
    """Extends one store's hash chain and anchors its head on NATS."""

    def __init__(
        self,
        store: ChainStore,
        *,
        key: bytes,
        subjects: Subjects,
        nats_url: str,
        poll_s: float = 0.25,
        checkpoint_s: float = 1.0,
        batch: int = 2000,
    ) -> None:
        self.store = store
        self.key = key
        self.subjects = subjects
        self.nats_url = nats_url
        self.poll_s = poll_s
        self.checkpoint_s = checkpoint_s
        self.batch = batch
        self.anchored = 0
        self._last_anchor_time = 0.0

    @classmethod
    def for_settings(cls, settings: Settings) -> Chainer | None:
        store = chain_store_for(settings)
        if store is None:
            return None
        return cls(
            store,
            key=integrity_key(settings.dev_mode),
            subjects=Subjects(settings.prefix),
            nats_url=settings.nats_url,
        )

    # -- chaining (synchronous, off the event loop) ---------------------------------------------
    def chain_pending(self) -> int:
        """Chain every record after the chain head; returns how many were chained."""
        total = 0
        while True:
            head = self.store.head()
            records = self.store.records_after(head.position if head else 0, self.batch)
            if not records:
                return total
            links = extend(head.chain_hash if head else GENESIS, records)
            self.store.append(links)
            total += len(links)

    def checkpoint(self) -> IntegrityCheckpointV1 | None:
        head = self.store.head()
        if head is None:
            return None
        records = self.store.link_count()
        return IntegrityCheckpointV1(
            store=self.store.name,
            position=head.position,
            chain_hash=head.chain_hash,
            records=records,
            at=datetime.now(UTC),
            signature=sign(self.key, self.store.name, head.position, head.chain_hash, records),
        )

    # -- running ---------------------------------------------------------------------------------
    async def run(self, active: Callable[[], bool]) -> None:
        """Chain and anchor while ``active()`` (this instance holds the chainer's lease)."""
        nc: Client | None = None
        try:
            while active():
                try:
                    await anyio.to_thread.run_sync(self.chain_pending)
                    nc = await self._anchor(nc)
                except Exception as exc:  # noqa: BLE001 - keep chaining; NATS may come back
                    log.warning("chainer step failed", store=self.store.name, error=repr(exc))
                    self.store.forget_count()
                await asyncio.sleep(self.poll_s)
        finally:
            if nc is not None:
                with contextlib.suppress(Exception):
                    await nc.close()

    async def finish(self, holder: bool, timeout_s: float = 5.0) -> None:
        """On a graceful stop, chain and anchor the last writes, then close the store.

        Why: the loop anchors at most once per ``checkpoint_s``, so the records
        written in a service's last second would otherwise stay chained but
        unanchored until it starts again, and ``lantern audit verify`` could not
        rule out a cut-off tail for them.  Only the lease holder does this (the
        chain has one writer); it runs after the lanes and the HTTP server have
        stopped, so nothing is written behind it.
        """
        try:
            if holder:
                await asyncio.wait_for(self._final_anchor(), timeout_s)
        except Exception as exc:  # noqa: BLE001 - the next start anchors it; say so
            log.warning("final anchor skipped", store=self.store.name, error=repr(exc))
        finally:
            await anyio.to_thread.run_sync(self.store.close)

    async def _final_anchor(self) -> None:
        await anyio.to_thread.run_sync(self.chain_pending)
        nc = await self._anchor(None, force=True)
        if nc is not None:
            await nc.close()

    async def _anchor(self, nc: Client | None, *, force: bool = False) -> Client | None:
        now = time.monotonic()
        if not force and now - self._last_anchor_time < self.checkpoint_s:
            return nc
        head = await anyio.to_thread.run_sync(self.store.head)
        if head is None or head.position <= self.anchored:
            return nc
        if nc is None or not nc.is_connected:
            nc = await nats.connect(
                nats_servers(self.nats_url),
                connect_timeout=2,
                max_reconnect_attempts=0,
                **natsurl.options(self.nats_url),
            )
            await ensure_integrity_stream(nc.jetstream(), self.subjects)
        checkpoint = await anyio.to_thread.run_sync(self.checkpoint)
        if checkpoint is None:
            return nc
        await nc.jetstream().publish(
            self.subjects.checkpoint(self.store.name),
            encode(checkpoint),
            stream=self.subjects.integrity_stream,
            headers={h.MSG_ID: f"checkpoint/{checkpoint.store}/{checkpoint.position}"},
        )
        self.anchored = checkpoint.position
        self._last_anchor_time = now
        log.info("anchored", store=checkpoint.store, position=checkpoint.position)
        return nc


# -- verification ---------------------------------------------------------------------------------
async def latest_checkpoints(
    js: JetStreamContext, subjects: Subjects, stores: Iterable[str]
) -> dict[str, Checkpoint]:
    """The newest signed checkpoint of each store (it covers every earlier position)."""
    found: dict[str, Checkpoint] = {}
    for store in stores:
        try:
            msg = await js.get_last_msg(subjects.integrity_stream, subjects.checkpoint(store))
        except NotFoundError:
            continue
        try:
            cp = decode(msg.data or b"", IntegrityCheckpointV1)
        except ContractError:
            found[store] = Checkpoint(store, 0, "", 0, "unreadable")
            continue
        found[store] = Checkpoint(cp.store, cp.position, cp.chain_hash, cp.records, cp.signature)
    return found


def verify_store(
    store: ChainStore, checkpoint: Checkpoint | None, key: bytes, *, require_anchor: bool = True
) -> Verdict:
    """Recompute a store's chain from its raw rows and judge it against the anchor."""
    records = list(store.all_records())
    links = list(store.all_links())
    anchors = [checkpoint] if checkpoint else []
    return verify(store.name, records, links, anchors, key, require_anchor=require_anchor)
