"""JetStream streams as code: one per service for its integration events, one for dead letters.

Streams are declared here with nats-py (idempotently, at every connect), so a
server that lost its state, or a fresh one, is set up again before anything
publishes or consumes.  Settings work on nats-server 2.9 and later.
"""

from __future__ import annotations

import contextlib

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from events.subjects import SERVICES, Subjects

#: JetStream refuses a second message with the same Nats-Msg-Id inside this window.
DUPLICATE_WINDOW_S = 120.0


def stream_configs(subjects: Subjects) -> list[StreamConfig]:
    configs = [
        StreamConfig(
            name=subjects.stream(service),
            subjects=subjects.stream_captures(service),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_S,
            max_age=0,
            deny_delete=True,
            deny_purge=False,
            description=f"Lantern {service} integration events (outbox relay)",
        )
        for service in SERVICES
    ]
    configs.append(
        StreamConfig(
            name=subjects.dlq_stream,
            subjects=[subjects.dlq_subjects],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            description="Lantern dead letters: messages a consumer parked with the reason",
        )
    )
    return configs


async def ensure_streams(js: JetStreamContext, subjects: Subjects) -> None:
    """Create missing streams; widen an existing one whose subjects an upgrade changed."""
    for config in stream_configs(subjects):
        assert config.name is not None
        try:
            info = await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config=config)
            continue
        if sorted(info.config.subjects or []) != sorted(config.subjects or []):
            info.config.subjects = config.subjects
            await js.update_stream(config=info.config)


async def delete_streams(js: JetStreamContext, subjects: Subjects) -> None:
    """Remove every stream of a prefix (used by tests to clean up after themselves)."""
    for config in stream_configs(subjects):
        assert config.name is not None
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(config.name)
