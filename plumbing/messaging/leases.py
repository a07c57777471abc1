"""Leases: which instance of a service holds which unit of work, in a JetStream KV bucket.

Why leases: two or more instances of a service may run against one NATS and one
store, but each partition must be consumed by one instance at a time (per-
incident order), and the relay, the deadline ticker and the pager must each
have one writer (one publisher per store, one sender of each page).  nats-py
2.16 cannot use the server's pinned consumer groups, so a small lease protocol
on the ``<PREFIX>_LEASES`` bucket does it:

* **acquire** = ``create`` (only if the key is absent or deleted);
* **renew** = ``update(last=revision)`` well inside the bucket's TTL, so a
  dead instance's keys expire and are taken over within a few seconds;
* a failed renewal (someone else's revision) means the lease is lost: the work
  stops at once.  A stale holder's in-flight write is still fenced by the
  store (the consumer's progress record is optimistic-concurrency checked, the
  relay's publishes are sequence-checked), so a lease race never doubles an
  effect; the lease is for order and efficiency.

**Balance.** Every instance also keeps a heartbeat key; with ``n`` live
instances each holds at most ``ceil(units / n)`` of the service's units and
releases the surplus, so a second instance takes half the partitions within
a few seconds, and more instances add throughput (measured in ``bench/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from plumbing import logs

log = logs.get("lantern.leases")

#: How long a key lives without renewal (the bucket's TTL, set at provisioning).
LEASE_TTL_S = 5.0
RENEW_EVERY_S = 1.0


def new_owner() -> str:
    """This process's identity in the lease bucket (a valid key token)."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return f"{host[:24]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class Held:
    revision: int
    renewed_at: float  # monotonic


@dataclass
class LeaseKeeper:
    """Holds a fair share of ``units`` for ``owner``; renews them; gives up the surplus."""

    kv: KeyValue
    js: JetStreamContext
    bucket: str
    service: str
    units: Sequence[str]
    owner: str = field(default_factory=new_owner)
    ttl_s: float = LEASE_TTL_S
    held: dict[str, Held] = field(default_factory=dict)
    instances: int = 1
    #: False while NATS cannot be reached: what is held stays held (nobody can take it)
    reachable: bool = True

    def key(self, unit: str) -> str:
        return f"{self.service}.work.{unit}"

    @property
    def heartbeat_key(self) -> str:
        return f"{self.service}.instances.{self.owner}"

    def holds(self, unit: str) -> bool:
        """Held and renewed in time; or held when NATS went away (nobody else can take it then).

        The second case keeps the deadline ticker and the pager of the last holder
        working through a NATS outage: better a page sent by the one instance that
        was sending than no page at all.  When NATS returns the lease is renewed,
        or lost to whoever took it after it expired, and the work stops here.
        """
        held = self.held.get(unit)
        if held is None:
            return False
        # Treat a lease as lost a little before the bucket would expire it.
        return not self.reachable or time.monotonic() - held.renewed_at < self.ttl_s * 0.8

    # -- one round ----------------------------------------------------------------------------
    async def step(self) -> None:
        """Heartbeat, renew what is held, release surplus, take free units up to the fair share."""
        await self.kv.put(self.heartbeat_key, self.owner.encode())
        self.instances = max(1, await self._live_instances())
        fair = math.ceil(len(self.units) / self.instances)
        for unit in list(self.held):
            await self._renew(unit)
        surplus = len(self.held) - fair
        for unit in sorted(self.held, reverse=True)[: max(0, surplus)]:
            await self.release(unit)
            log.info("lease released to balance", unit=unit, instances=self.instances)
        for unit in self.units:
            if len(self.held) >= fair:
                break
            if unit not in self.held:
                await self._acquire(unit)

    async def _live_instances(self) -> int:
        info = await self.js.stream_info(
            f"KV_{self.bucket}", subjects_filter=f"$KV.{self.bucket}.{self.service}.instances.>"
        )
        return len(info.state.subjects or {})

    async def _acquire(self, unit: str) -> None:
        try:
            revision = await self.kv.create(self.key(unit), self.owner.encode())
        except KeyWrongLastSequenceError:
            return  # someone else holds it
        self.held[unit] = Held(revision, time.monotonic())
        log.info("lease acquired", unit=unit, owner=self.owner)

    async def _renew(self, unit: str) -> None:
        held = self.held[unit]
        try:
            revision = await self.kv.update(self.key(unit), self.owner.encode(), last=held.revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            self.held.pop(unit, None)
            log.warning("lease lost", unit=unit, owner=self.owner)
            return
        held.revision, held.renewed_at = revision, time.monotonic()

    async def release(self, unit: str) -> None:
        held = self.held.pop(unit, None)
        if held is not None:
            with contextlib.suppress(Exception):
                await self.kv.delete(self.key(unit), last=held.revision)

    async def release_all(self) -> None:
        for unit in list(self.held):
            await self.release(unit)
        with contextlib.suppress(Exception):
            await self.kv.purge(self.heartbeat_key)

    async def run(self, stop: asyncio.Event, changed: asyncio.Event) -> None:
        """Keep stepping until ``stop``; set ``changed`` whenever the held set changes."""
        before: set[str] = set()
        while not stop.is_set():
            try:
                await self.step()
                self.reachable = True
            except Exception as exc:  # noqa: BLE001 - NATS trouble: leases lapse on their own
                if self.reachable:
                    log.warning("lease round failed", error=repr(exc))
                self.reachable = False
            now = {u for u in self.held if self.holds(u)}
            if now != before:
                before = now
                changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RENEW_EVERY_S)
        await self.release_all()
        changed.set()
