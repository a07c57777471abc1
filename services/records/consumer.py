"""Records' consumers: the shared tracked consumer, with the message's headers in reach.

Why: a timeline entry needs what only the headers carry (the message id, when
the source recorded it, its causation and correlation).  The shared
:class:`TrackedConsumer` hands ``decide`` the payload only, so this subclass
puts the headers in a context variable for the duration of one message (the
consumer takes one message at a time, and the worker thread inherits the
context).  Payloads are taken raw: records decodes the tag itself, so a tag it
does not know never parks the stream behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import msgspec
from eventsourcing.domain import Aggregate
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from events.subjects import RECORDS, Subjects
from plumbing.domain import Trace
from plumbing.messaging.consumer import Outcome, TrackedConsumer
from plumbing.messaging.host import Subscription
from services.records.application import RecordsApplication

_HEADERS: ContextVar[Mapping[str, str] | None] = ContextVar("records_headers", default=None)


class HeaderAwareConsumer(TrackedConsumer):
    async def handle(self, msg: Msg, js: JetStreamContext) -> Outcome:
        token = _HEADERS.set(dict(msg.headers or {}))
        try:
            return await super().handle(msg, js)
        finally:
            _HEADERS.reset(token)


def subscription(
    app: RecordsApplication, subjects: Subjects, upstream: str, *, audit: bool = False
) -> Subscription:
    """One durable, ordered subscription of records to an upstream service's stream.

    Records follows two feeds of each stream: the integration events and, apart,
    the audit entries (their own subject).  Each feed is tracked under its own name,
    since each sees only its own, still increasing, positions.
    """
    durable = f"{RECORDS}-{'audit-' if audit else ''}from-{upstream}"

    def decide(raw: Any, _: Trace) -> Sequence[Aggregate]:
        return app.on_message(upstream, bytes(raw), _HEADERS.get() or {})

    consumer = HeaderAwareConsumer(
        app=app,
        name=RECORDS,
        upstream=f"{upstream}.audit" if audit else upstream,
        message_type=msgspec.Raw,
        decide=decide,
        dlq_subject=subjects.dlq(durable),
        dlq_stream=subjects.dlq_stream,
    )
    return Subscription(
        consumer=consumer,
        stream=subjects.stream(upstream),
        subject=subjects.audit(upstream) if audit else subjects.stream_subjects(upstream),
        durable=durable,
    )
