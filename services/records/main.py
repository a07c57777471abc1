"""Composition root of the records service: one ordered subscription per upstream stream."""

from __future__ import annotations

from events.subjects import RECORDS, SERVICES, Subjects
from plumbing.interface.commands import http_routes, nats_responders, openapi_route
from plumbing.interface.guard import Guard
from plumbing.interface.process import ServiceProcess
from plumbing.messaging.host import MessagingHost
from plumbing.settings import Settings
from plumbing.store.select import store_env
from services.records.application import RecordsApplication
from services.records.consumer import subscription
from services.records.operations import operations


def build(settings: Settings) -> ServiceProcess:
    subjects = Subjects(settings.prefix)
    app = RecordsApplication(env=store_env(settings))
    guard = Guard.from_settings(settings, app)
    ops = [*operations(app), *guard.operations()]
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        relay=None,  # records publishes nothing; it only reads every stream
        subscriptions=[
            subscription(app, subjects, upstream, audit=audit)
            for upstream in SERVICES
            for audit in (False, True)
        ],
        responders=nats_responders(ops, lambda name: subjects.command(RECORDS, name), guard),
    )
    routes = [*http_routes(ops, guard), openapi_route("Lantern records", ops)]
    return ServiceProcess(settings=settings, app=app, routes=routes, messaging=messaging)
