"""Composition root of the dispatch service."""

from __future__ import annotations

from events.intake import IntakeEvent
from events.subjects import DISPATCH, INTAKE, Subjects
from plumbing.commands import http_routes, nats_responders, openapi_route
from plumbing.consumer import TrackedConsumer
from plumbing.host import ServiceProcess
from plumbing.messaging import MessagingHost, Subscription
from plumbing.relay import OutboxRelay
from plumbing.requests import utcnow
from plumbing.settings import Settings
from plumbing.store import store_env
from plumbing.timers import Ticker
from services.dispatch import config
from services.dispatch.application import DispatchApplication
from services.dispatch.notify import build_notifier
from services.dispatch.operations import operations
from services.dispatch.translate import Translator


def build(settings: Settings) -> ServiceProcess:
    subjects = Subjects(settings.prefix)
    cfg = config.load(settings.config_file)
    app = DispatchApplication(env=store_env(settings), policy=cfg.policy())
    ops = operations(app)
    relay = OutboxRelay(
        app=app,
        service=DISPATCH,
        stream=subjects.stream(DISPATCH),
        translate=Translator(subjects, lambda i, v: app.repository.get(i, version=v)),
    )
    from_intake = TrackedConsumer(
        app=app,
        name=DISPATCH,
        upstream=INTAKE,
        message_type=IntakeEvent,
        decide=lambda event, trace: app.on_intake_event(event, trace, at=utcnow()),
        dlq_subject=subjects.dlq(f"{DISPATCH}-from-{INTAKE}"),
        dlq_stream=subjects.dlq_stream,
    )
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        relay=relay,
        subscriptions=[
            Subscription(
                consumer=from_intake,
                stream=subjects.stream(INTAKE),
                subject=subjects.stream_subjects(INTAKE),
                durable=f"{DISPATCH}-from-{INTAKE}",
            )
        ],
        responders=nats_responders(ops, lambda name: subjects.command(DISPATCH, name)),
    )
    ticker = Ticker(app.timers, app.fire, name="dispatch-deadlines")
    notifier = build_notifier(app, cfg.notifications)
    routes = [*http_routes(ops), openapi_route("Lantern dispatch", ops)]
    return ServiceProcess(
        settings=settings,
        app=app,
        routes=routes,
        messaging=messaging,
        background=[ticker.run, notifier.run],
    )
