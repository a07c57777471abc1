"""Composition root of the follow-up service."""

from __future__ import annotations

from events.dispatch import DispatchEvent
from events.subjects import DISPATCH, FOLLOWUP, Subjects
from plumbing.commands import http_routes, nats_responders, openapi_route
from plumbing.consumer import TrackedConsumer
from plumbing.host import ServiceProcess
from plumbing.messaging import MessagingHost, Subscription
from plumbing.relay import OutboxRelay
from plumbing.settings import Settings
from plumbing.store import store_env
from plumbing.timers import Clock, Ticker, system_clock
from services.followup.application import FollowupApplication
from services.followup.operations import operations
from services.followup.renewed_risk import RenewedRiskReporter
from services.followup.translate import Translator


def build(settings: Settings, clock: Clock = system_clock) -> ServiceProcess:
    subjects = Subjects(settings.prefix)
    app = FollowupApplication(env=store_env(settings))
    ops = operations(app, clock)
    relay = OutboxRelay(
        app=app,
        service=FOLLOWUP,
        stream=subjects.stream(FOLLOWUP),
        translate=Translator(subjects, lambda i, v: app.repository.get(i, version=v)),
    )
    from_dispatch = TrackedConsumer(
        app=app,
        name=FOLLOWUP,
        upstream=DISPATCH,
        message_type=DispatchEvent,
        decide=app.on_dispatch_event,
        dlq_subject=subjects.dlq(f"{FOLLOWUP}-from-{DISPATCH}"),
        dlq_stream=subjects.dlq_stream,
    )
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        relay=relay,
        subscriptions=[
            Subscription(
                consumer=from_dispatch,
                stream=subjects.stream(DISPATCH),
                subject=subjects.stream_subjects(DISPATCH),
                durable=f"{FOLLOWUP}-from-{DISPATCH}",
            )
        ],
        responders=nats_responders(ops, lambda name: subjects.command(FOLLOWUP, name)),
    )
    ticker = Ticker(app.timers, app.fire, clock=clock, name="followup-timers")
    reporter = RenewedRiskReporter(app, subjects, clock=clock, nats_url=settings.nats_url)
    routes = [*http_routes(ops), openapi_route("Lantern follow-up", ops)]
    return ServiceProcess(
        settings=settings,
        app=app,
        routes=routes,
        messaging=messaging,
        background=[ticker.run, reporter.run],
    )
