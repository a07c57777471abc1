"""Composition root of the dispatch service."""

from __future__ import annotations

from events.intake import IntakeEvent
from events.subjects import DISPATCH, INTAKE, Subjects
from plumbing.access import trust
from plumbing.integrity.audit import audited
from plumbing.interface import docs, operators
from plumbing.interface.commands import http_routes, nats_responders
from plumbing.interface.guard import Guard
from plumbing.interface.metrics import Metrics
from plumbing.interface.process import ServiceProcess
from plumbing.interface.requests import utcnow
from plumbing.messaging.feed import Feed, contract
from plumbing.messaging.host import MessagingHost
from plumbing.messaging.relay import OutboxRelay
from plumbing.settings import Settings
from plumbing.store.select import store_env
from plumbing.timers import Ticker
from services.dispatch import config
from services.dispatch import metrics as service_metrics
from services.dispatch.application import DispatchApplication
from services.dispatch.calendar import CalendarFeedService
from services.dispatch.domain.response import response_id_for
from services.dispatch.notify import build_notifier
from services.dispatch.operations import operations
from services.dispatch.translate import Translator


def build(settings: Settings) -> ServiceProcess:
    subjects = Subjects(settings.prefix, settings.partitions)
    cfg = config.load(settings.config_file)
    app = DispatchApplication(env=store_env(settings), policy=cfg.policy())
    guard = Guard.from_settings(settings, app)
    calendar = CalendarFeedService(
        app, subjects, settings.nats_url, trust.delegation_headers(settings)
    )
    relay = OutboxRelay(
        app=app,
        service=DISPATCH,
        subjects=subjects,
        translate=audited(
            Translator(subjects, lambda i, v: app.repository.get(i, version=v)), subjects, DISPATCH
        ),
    )
    reports = Feed(
        consumer=DISPATCH,
        name=f"{DISPATCH}-from-{INTAKE}",
        upstream=INTAKE,
        family="evt",
        decode=contract(IntakeEvent),
        decide=lambda event, message: app.on_intake_event(
            event, message.trace(f"service:{DISPATCH}"), at=utcnow()
        ),
        prefetch=lambda events: [response_id_for(e.incident_id) for e in events],
    )
    ticker = Ticker(app.timers, app.fire, name="dispatch-deadlines")
    notifier = build_notifier(app, cfg.notifications)
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        service=DISPATCH,
        app=app,
        relay=relay,
        feeds=[reports],
        singletons={"ticker": ticker.run, "notifier": notifier.run},
        after_commit=app.after_batch,
    )
    ops = [
        *operations(app),
        *calendar.operations(),
        *guard.operations(),
        *operators.operations(messaging),
    ]
    messaging.responders = nats_responders(
        ops,
        lambda name: subjects.command(DISPATCH, name),
        guard,
        max_bytes=settings.max_request_bytes,
    )
    routes = [
        *http_routes(ops, guard, max_bytes=settings.max_request_bytes),
        *calendar.routes(),
        *docs.routes(DISPATCH, ops, extra_paths=calendar.PATHS),
    ]
    metrics = Metrics(DISPATCH)
    service_metrics.register(metrics, app)
    return ServiceProcess(
        settings=settings,
        app=app,
        routes=routes,
        messaging=messaging,
        tickers=[ticker],
        background=[guard.repeat_flusher, calendar.run],
        metrics=metrics,
    )
