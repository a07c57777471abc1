"""Composition root of the dispatch service."""

from __future__ import annotations

from events.intake import IntakeEvent
from events.subjects import DISPATCH, INTAKE, Subjects
from plumbing.integrity.audit import audited
from plumbing.interface.commands import http_routes, nats_responders, openapi_route
from plumbing.interface.guard import Guard
from plumbing.interface.process import ServiceProcess
from plumbing.interface.requests import utcnow
from plumbing.messaging.host import MessagingHost, follow
from plumbing.messaging.relay import OutboxRelay
from plumbing.settings import Settings
from plumbing.store.select import store_env
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
    guard = Guard.from_settings(settings, app)
    ops = [*operations(app), *guard.operations()]
    relay = OutboxRelay(
        app=app,
        service=DISPATCH,
        stream=subjects.stream(DISPATCH),
        translate=audited(
            Translator(subjects, lambda i, v: app.repository.get(i, version=v)), subjects, DISPATCH
        ),
    )
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        relay=relay,
        subscriptions=[
            follow(
                app,
                service=DISPATCH,
                upstream=INTAKE,
                message_type=IntakeEvent,
                decide=lambda event, trace: app.on_intake_event(event, trace, at=utcnow()),
                subjects=subjects,
            )
        ],
        responders=nats_responders(ops, lambda name: subjects.command(DISPATCH, name), guard),
    )
    ticker = Ticker(app.timers, app.fire, name="dispatch-deadlines")
    notifier = build_notifier(app, cfg.notifications)
    routes = [*http_routes(ops, guard), openapi_route("Lantern dispatch", ops)]
    return ServiceProcess(
        settings=settings,
        app=app,
        routes=routes,
        messaging=messaging,
        background=[ticker.run, notifier.run],
    )
