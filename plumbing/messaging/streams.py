"""JetStream streams and the lease bucket, as code: what a deployment provisions.

Who runs it: ``lantern up`` (as the operator user, before any service starts),
``lantern deploy apply`` for a managed deployment, and the test harness.  A
service checks that what it needs exists before it publishes or consumes; when
its NATS user may provision (development) it provisions what is missing, and
otherwise it waits, unready, naming what is missing.  So service users need no
permission to create, change or delete any stream.

Every stream denies delete and purge: the relay's chain and the consumers'
progress rely on messages staying where they were written, and a dead letter
or an integrity anchor is evidence.  Settings work on nats-server 2.9 and later.

``replicas`` is the number of copies JetStream keeps of every stream and of the
lease bucket: 1 on one server, 3 on a three-node cluster (an R3 stream survives
the loss of any one node; ``LANTERN_STREAM_REPLICAS``).  Consumers take their
stream's replica count.  Raising it on an existing stream is an update that
JetStream carries out in place; ``plumbing.messaging.deployment`` plans and
applies all of it, consumers included, for ``lantern deploy apply``.
"""

from __future__ import annotations

import contextlib

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BucketNotFoundError, NotFoundError

from events.subjects import RECORDS, SERVICES, Subjects
from plumbing.messaging.leases import LEASE_TTL_S

#: JetStream refuses a second message with the same Nats-Msg-Id inside this window.
DUPLICATE_WINDOW_S = 120.0
#: Services that consume (and so may park dead letters).
CONSUMERS = (*SERVICES, RECORDS)


def event_stream(subjects: Subjects, service: str, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=subjects.stream(service),
        subjects=subjects.stream_captures(service),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_S,
        max_age=0,
        deny_delete=True,
        deny_purge=True,
        num_replicas=replicas,
        description=f"Lantern {service}: integration events, audit entries and inboxes",
    )


def dead_letter_stream(subjects: Subjects, service: str, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=subjects.dlq_stream(service),
        subjects=[subjects.dlq_subjects(service)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        deny_delete=True,
        deny_purge=True,
        num_replicas=replicas,
        description=f"Lantern dead letters of {service}'s consumers, each with its reason",
    )


def integrity_stream(subjects: Subjects, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=subjects.integrity_stream,
        subjects=[subjects.integrity_subjects],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        deny_delete=True,
        deny_purge=True,
        num_replicas=replicas,
        description="Lantern integrity anchors: signed hash-chain heads of every store",
    )


def stream_configs(subjects: Subjects, replicas: int = 1) -> list[StreamConfig]:
    return [
        *(event_stream(subjects, s, replicas) for s in SERVICES),
        *(dead_letter_stream(subjects, s, replicas) for s in CONSUMERS),
        integrity_stream(subjects, replicas),
    ]


def lease_bucket(subjects: Subjects, replicas: int = 1) -> KeyValueConfig:
    return KeyValueConfig(
        bucket=subjects.leases_bucket,
        history=1,
        ttl=LEASE_TTL_S,
        storage=StorageType.FILE,
        replicas=replicas,
        description="Lantern leases: which instance holds which partition, relay, ticker, pager",
    )


def stream_changes(current: StreamConfig, wanted: StreamConfig) -> list[str]:
    """What ``provision`` changes on an existing stream (nothing else is touched)."""
    changes = []
    if sorted(current.subjects or []) != sorted(wanted.subjects or []):
        changes.append(f"subjects {sorted(wanted.subjects or [])}")
    if not (current.deny_purge and current.deny_delete):
        changes.append("deny delete and purge")
    if (current.num_replicas or 1) != (wanted.num_replicas or 1):
        changes.append(f"replicas {current.num_replicas or 1} -> {wanted.num_replicas or 1}")
    return changes


async def provision(
    js: JetStreamContext, subjects: Subjects, replicas: int = 1, *, dry_run: bool = False
) -> list[str]:
    """Create what is missing, widen subjects an upgrade changed and set the replica count;
    returns what changed (with ``dry_run``, what would change, changing nothing)."""
    changed: list[str] = []
    for config in stream_configs(subjects, replicas):
        assert config.name is not None
        try:
            info = await js.stream_info(config.name)
        except NotFoundError:
            if not dry_run:
                await js.add_stream(config=config)
            changed.append(f"{_did('create', dry_run)} stream {config.name} (replicas {replicas})")
            continue
        current = info.config
        changes = stream_changes(current, config)
        if changes:
            current.subjects = config.subjects
            current.deny_delete, current.deny_purge = True, True
            current.num_replicas = config.num_replicas
            if not dry_run:
                await js.update_stream(config=current)
            changed.append(f"{_did('update', dry_run)} stream {config.name}: {'; '.join(changes)}")
    bucket = lease_bucket(subjects, replicas)
    try:
        await js.key_value(bucket.bucket)
    except (BucketNotFoundError, NotFoundError):
        if not dry_run:
            await js.create_key_value(config=bucket)
        changed.append(
            f"{_did('create', dry_run)} key-value bucket {bucket.bucket} (replicas {replicas})"
        )
    else:
        kv_stream = f"KV_{bucket.bucket}"
        info = await js.stream_info(kv_stream)
        if (info.config.num_replicas or 1) != replicas:
            before = info.config.num_replicas or 1
            info.config.num_replicas = replicas
            if not dry_run:
                await js.update_stream(config=info.config)
            changed.append(
                f"{_did('update', dry_run)} key-value bucket {bucket.bucket}: "
                f"replicas {before} -> {replicas}"
            )
    return changed


def _did(verb: str, dry_run: bool) -> str:
    return f"would {verb}" if dry_run else f"{verb}d"


async def missing(js: JetStreamContext, names: list[str]) -> list[str]:
    """Which of these streams do not exist."""
    absent = []
    for name in names:
        try:
            await js.stream_info(name)
        except NotFoundError:
            absent.append(name)
    return absent


async def delete_streams(js: JetStreamContext, subjects: Subjects) -> None:
    """Remove every stream of a prefix (tests clean up after themselves; deny_delete is about
    messages, a whole stream can still be removed by a user allowed to)."""
    for config in stream_configs(subjects):
        assert config.name is not None
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(config.name)
    with contextlib.suppress(Exception):
        await js.delete_key_value(subjects.leases_bucket)
