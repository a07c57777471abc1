"""Composition root of the follow-up service."""

from __future__ import annotations

from events.dispatch import DispatchEvent
from events.subjects import DISPATCH, FOLLOWUP, Subjects
from plumbing import care_team
from plumbing.access import trust
from plumbing.integrity.audit import audited
from plumbing.interface import docs, operators
from plumbing.interface.commands import http_routes, nats_responders
from plumbing.interface.guard import Guard
from plumbing.interface.metrics import Metrics
from plumbing.interface.process import ServiceProcess
from plumbing.messaging.feed import Feed, contract
from plumbing.messaging.host import MessagingHost
from plumbing.messaging.relay import OutboxRelay
from plumbing.settings import Settings
from plumbing.store.select import store_env
from plumbing.timers import Clock, Ticker, system_clock
from services.followup import metrics as service_metrics
from services.followup.application import FollowupApplication, opens_plans
from services.followup.domain.ids import plan_id_for
from services.followup.operations import operations
from services.followup.renewed_risk import RenewedRiskReporter
from services.followup.translate import Translator


def build(settings: Settings, clock: Clock = system_clock) -> ServiceProcess:
    subjects = Subjects(settings.prefix, settings.partitions)
    app = FollowupApplication(env=store_env(settings))
    guard = Guard.from_settings(settings, app)
    relay = OutboxRelay(
        app=app,
        service=FOLLOWUP,
        subjects=subjects,
        translate=audited(
            Translator(subjects, lambda i, v: app.repository.get(i, version=v)), subjects, FOLLOWUP
        ),
    )
    plans = Feed(
        consumer=FOLLOWUP,
        name=f"{FOLLOWUP}-from-{DISPATCH}",
        upstream=DISPATCH,
        family="evt",
        decode=contract(DispatchEvent),
        decide=lambda event, message: app.on_dispatch_event(
            event, message.trace(f"service:{FOLLOWUP}")
        ),
        prefetch=lambda events: [plan_id_for(e.incident_id) for e in events if opens_plans(e)],
    )
    ticker = Ticker(app.timers, app.fire, clock=clock, name="followup-timers")
    reporter = RenewedRiskReporter(
        app,
        subjects,
        clock=clock,
        nats_url=settings.nats_url,
        delegation=trust.delegation_headers(settings),
    )
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        service=FOLLOWUP,
        app=app,
        relay=relay,
        feeds=[plans, care_team.feed(app, FOLLOWUP)],
        singletons={"ticker": ticker.run},
    )
    ops = [*operations(app, clock), *guard.operations(), *operators.operations(messaging)]
    messaging.responders = nats_responders(
        ops,
        lambda name: subjects.command(FOLLOWUP, name),
        guard,
        max_bytes=settings.max_request_bytes,
    )
    routes = [
        *http_routes(ops, guard, max_bytes=settings.max_request_bytes),
        *docs.routes(FOLLOWUP, ops),
    ]
    metrics = Metrics(FOLLOWUP)
    service_metrics.register(metrics, app)
    return ServiceProcess(
        settings=settings,
        app=app,
        routes=routes,
        messaging=messaging,
        background=[guard.repeat_flusher, reporter.run],
        tickers=[ticker],
        metrics=metrics,
    )
