"""Composition root of the records service: two feeds (events, audit) of every upstream stream."""

from __future__ import annotations

from events.subjects import RECORDS, SERVICES, Subjects
from plumbing.interface import docs, operators
from plumbing.interface.commands import http_routes, nats_responders
from plumbing.interface.guard import Guard
from plumbing.interface.process import ServiceProcess
from plumbing.messaging.host import MessagingHost
from plumbing.settings import Settings
from plumbing.store.select import store_env
from services.records.application import RecordsApplication
from services.records.consumer import feed
from services.records.operations import operations


def build(settings: Settings) -> ServiceProcess:
    subjects = Subjects(settings.prefix, settings.partitions)
    app = RecordsApplication(env=store_env(settings))
    guard = Guard.from_settings(settings, app)
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        service=RECORDS,
        app=app,
        relay=None,  # records publishes nothing; it only reads every stream
        feeds=[
            feed(app, upstream, audit=audit) for upstream in SERVICES for audit in (False, True)
        ],
    )
    ops = [*operations(app), *guard.operations(), *operators.operations(messaging)]
    command = lambda name: subjects.command(RECORDS, name)  # noqa: E731
    messaging.responders = nats_responders(
        ops, command, guard, max_bytes=settings.max_request_bytes
    )
    routes = [
        *http_routes(ops, guard, max_bytes=settings.max_request_bytes),
        *docs.routes(RECORDS, ops),
    ]
    return ServiceProcess(
        settings=settings,
        app=app,
        routes=routes,
        messaging=messaging,
        background=[guard.repeat_flusher],
    )
