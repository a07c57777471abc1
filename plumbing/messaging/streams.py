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


def event_stream(subjects: Subjects, service: str) -> StreamConfig:
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
        description=f"Lantern {service}: integration events, audit entries and inboxes",
    )


def dead_letter_stream(subjects: Subjects, service: str) -> StreamConfig:
    return StreamConfig(
        name=subjects.dlq_stream(service),
        subjects=[subjects.dlq_subjects(service)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        deny_delete=True,
        deny_purge=True,
        description=f"Lantern dead letters of {service}'s consumers, each with its reason",
    )


def integrity_stream(subjects: Subjects) -> StreamConfig:
    return StreamConfig(
        name=subjects.integrity_stream,
        subjects=[subjects.integrity_subjects],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        deny_delete=True,
        deny_purge=True,
        description="Lantern integrity anchors: signed hash-chain heads of every store",
    )


def stream_configs(subjects: Subjects) -> list[StreamConfig]:
    return [
        *(event_stream(subjects, s) for s in SERVICES),
        *(dead_letter_stream(subjects, s) for s in CONSUMERS),
        integrity_stream(subjects),
    ]


def lease_bucket(subjects: Subjects) -> KeyValueConfig:
    return KeyValueConfig(
        bucket=subjects.leases_bucket,
        history=1,
        ttl=LEASE_TTL_S,
        storage=StorageType.FILE,
        description="Lantern leases: which instance holds which partition, relay, ticker, pager",
    )


async def provision(js: JetStreamContext, subjects: Subjects) -> list[str]:
    """Create what is missing and widen subjects an upgrade changed; returns what changed."""
    changed: list[str] = []
    for config in stream_configs(subjects):
        assert config.name is not None
        try:
            info = await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config=config)
            changed.append(f"created stream {config.name}")
            continue
        current = info.config
        if sorted(current.subjects or []) != sorted(config.subjects or []) or not (
            current.deny_purge and current.deny_delete
        ):
            current.subjects = config.subjects
            current.deny_delete, current.deny_purge = True, True
            await js.update_stream(config=current)
            changed.append(f"updated stream {config.name}")
    bucket = lease_bucket(subjects)
    try:
        await js.key_value(bucket.bucket)
    except (BucketNotFoundError, NotFoundError):
        await js.create_key_value(config=bucket)
        changed.append(f"created key-value bucket {bucket.bucket}")
    return changed


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
