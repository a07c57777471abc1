"""Tamper evidence for stored histories: hash chains, signed checkpoints, and the verdict.

Why: an event store is append-only by convention, not by force.  Anyone with
write access to the database could edit, delete, reorder or insert stored
events, or cut the newest ones off.  This module makes every such change
detectable, and names the record it broke.

How, in three layers (this module is the pure one; ``chain_store`` reads raw
rows and keeps the chain table, ``chainer`` runs in every service):

* each stored record (originator id, version, topic, state bytes: exactly what
  the store holds) has a **record hash**, independent of its position, so a
  record moved to another position is recognised there;
* the **chain hash** at a position folds the previous chain hash, the position
  and the record hash, so no record can change without every later chain hash
  changing too;
* a **checkpoint** is a chain head signed with HMAC-SHA256 (the integrity key)
  and published to a stream that refuses deletes and purges.  Without the key
  nobody can forge a checkpoint for a rewritten history, and because
  checkpoints live outside the database, cutting the newest records *and*
  their chain rows is still detected.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

GENESIS = "0" * 64

#: Kinds of break, as ``lantern audit verify`` names them.
MODIFIED = "modified"  # the record at a chained position no longer hashes as it did
DELETED = "deleted"  # a chained position is missing from the store
REORDERED = "reordered"  # the record found at a position was chained at another one
INSERTED = "inserted"  # an unchained record inside the chained range (in a gap, or pushing others)
TRUNCATED = "truncated"  # the newest chained/anchored records are gone
CHAIN_ALTERED = "chain_altered"  # the chain table itself no longer folds consistently
ANCHOR_MISMATCH = "anchor_mismatch"  # a signed checkpoint disagrees with the chain
BAD_SIGNATURE = "bad_signature"  # a checkpoint not signed with the integrity key
UNANCHORED = "unanchored"  # chained history with no signed checkpoint to vouch for its end


@dataclass(frozen=True)
class RawRecord:
    """One stored event exactly as the database holds it."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class ChainLink:
    """One row of a store's chain table."""

    position: int
    record_hash: str
    chain_hash: str


@dataclass(frozen=True)
class Checkpoint:
    """A signed chain head (see ``events.records.IntegrityCheckpointV1``)."""

    store: str
    position: int
    chain_hash: str
    records: int
    signature: str


@dataclass(frozen=True)
class Break:
    """One broken record: which store, which position, what kind of break."""

    store: str
    position: int
    kind: str
    detail: str = ""

    def describe(self) -> str:
        extra = f": {self.detail}" if self.detail else ""
        return f"{self.store} position {self.position}: {self.kind}{extra}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one store."""

    store: str
    records: int
    chained_to: int
    anchored_to: int
    pending: int
    breaks: tuple[Break, ...]

    @property
    def intact(self) -> bool:
        return not self.breaks


# -- hashing ----------------------------------------------------------------------------------
def record_hash(record: RawRecord) -> str:
    """Hash of a record's content (not its position, so a moved record is recognised)."""
    digest = hashlib.sha256()
    for part in (
        record.originator_id.encode(),
        str(record.originator_version).encode(),
        record.topic.encode(),
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update(len(record.state).to_bytes(8, "big"))
    digest.update(record.state)
    return digest.hexdigest()


def chain_hash(previous: str, position: int, record_hash_hex: str) -> str:
    return hashlib.sha256(f"{previous}|{position}|{record_hash_hex}".encode()).hexdigest()


def extend(head: str, records: Iterable[RawRecord]) -> list[ChainLink]:
    """Chain links for ``records`` (in position order), continuing from ``head``."""
    links = []
    for record in records:
        rh = record_hash(record)
        head = chain_hash(head, record.position, rh)
        links.append(ChainLink(record.position, rh, head))
    return links


# -- checkpoints ---------------------------------------------------------------------------------
def sign(key: bytes, store: str, position: int, chain_head: str, records: int) -> str:
    message = f"{store}|{position}|{chain_head}|{records}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed(key: bytes, checkpoint: Checkpoint) -> bool:
    expected = sign(
        key, checkpoint.store, checkpoint.position, checkpoint.chain_hash, checkpoint.records
    )
    return hmac.compare_digest(expected, checkpoint.signature)


# -- verification --------------------------------------------------------------------------------
def verify(
    store: str,
    records: Sequence[RawRecord],
    chain: Sequence[ChainLink],
    checkpoints: Sequence[Checkpoint] = (),
    key: bytes = b"",
    require_anchor: bool = False,
) -> Verdict:
    """Compare the raw records with the chain table and the signed checkpoints.

    Records after the last chain row are *pending* (not yet chained), not broken.
    """
    breaks: list[Break] = []
    by_position = {r.position: r for r in records}
    chained = {link.position: link for link in chain}
    last_chained = max(chained, default=0)
    last_record = max(by_position, default=0)
    chained_at_hash: dict[str, list[int]] = {}
    for link in chain:
        chained_at_hash.setdefault(link.record_hash, []).append(link.position)

    breaks.extend(_chain_consistency(store, chain))
    missing = sorted(p for p in chained if p not in by_position)
    tail = {p for p in missing if p > last_record}
    for position in missing:
        if position in tail:
            breaks.append(Break(store, position, TRUNCATED, "a newest chained record is gone"))
        else:
            breaks.append(Break(store, position, DELETED, "chained record is missing"))
    actual_hashes = {p: record_hash(r) for p, r in by_position.items()}
    found_at: dict[str, list[int]] = {}
    for p, rh in actual_hashes.items():
        found_at.setdefault(rh, []).append(p)
    for position, link in sorted(chained.items()):
        actual = actual_hashes.get(position)
        if actual is None or actual == link.record_hash:
            continue
        elsewhere = [p for p in chained_at_hash.get(actual, []) if p != position]
        moved_to = [p for p in found_at.get(link.record_hash, []) if p != position]
        if elsewhere:
            breaks.append(
                Break(store, position, REORDERED, f"holds the record chained at {elsewhere[0]}")
            )
        elif moved_to:
            breaks.append(
                Break(store, position, INSERTED, f"a record never chained; pushed to {moved_to[0]}")
            )
        else:
            breaks.append(Break(store, position, MODIFIED, "content differs from its hash"))
    for position in sorted(by_position):
        if position <= last_chained and position not in chained:
            breaks.append(Break(store, position, INSERTED, "never chained"))
    breaks.extend(_anchors(store, chained, checkpoints, key, last_record, last_chained))
    if require_anchor and chained and not checkpoints:
        breaks.append(
            Break(
                store, last_chained, UNANCHORED, "no signed checkpoint; a cut-off tail is possible"
            )
        )
    pending = sum(1 for p in by_position if p > last_chained)
    anchored = max((c.position for c in checkpoints), default=0)
    return Verdict(
        store=store,
        records=len(records),
        chained_to=last_chained,
        anchored_to=anchored,
        pending=pending,
        breaks=tuple(sorted(breaks, key=lambda b: (b.position, b.kind))),
    )


def _chain_consistency(store: str, chain: Sequence[ChainLink]) -> list[Break]:
    """The chain table must fold: each chain hash from the previous one and its record hash."""
    breaks = []
    head = GENESIS
    for link in sorted(chain, key=lambda c: c.position):
        expected = chain_hash(head, link.position, link.record_hash)
        if expected != link.chain_hash:
            breaks.append(Break(store, link.position, CHAIN_ALTERED, "chain row does not fold"))
        head = link.chain_hash
    return breaks


def _anchors(
    store: str,
    chained: dict[int, ChainLink],
    checkpoints: Sequence[Checkpoint],
    key: bytes,
    last_record: int,
    last_chained: int,
) -> list[Break]:
    breaks = []
    for checkpoint in checkpoints:
        if not signed(key, checkpoint):
            breaks.append(Break(store, checkpoint.position, BAD_SIGNATURE, "checkpoint forged"))
            continue
        link = chained.get(checkpoint.position)
        if link is None:
            if checkpoint.position > max(last_record, last_chained):
                breaks.append(
                    Break(
                        store,
                        checkpoint.position,
                        TRUNCATED,
                        f"anchored up to {checkpoint.position}, store ends at {last_record}",
                    )
                )
            else:
                breaks.append(
                    Break(store, checkpoint.position, DELETED, "anchored position not chained")
                )
        elif link.chain_hash != checkpoint.chain_hash:
            breaks.append(
                Break(store, checkpoint.position, ANCHOR_MISMATCH, "chain rewritten since anchored")
            )
    # Several checkpoints may name the same missing tail; report each position once.
    seen: set[tuple[int, str]] = set()
    unique = []
    for b in breaks:
        if (b.position, b.kind) not in seen:
            seen.add((b.position, b.kind))
            unique.append(b)
    return unique
