"""Composition root of the intake service."""

from __future__ import annotations

from events.subjects import INTAKE, Subjects
from plumbing import care_team, privacy
from plumbing.integrity.audit import audited
from plumbing.interface import docs, operators
from plumbing.interface.commands import http_routes, nats_responders
from plumbing.interface.guard import Guard
from plumbing.interface.process import ServiceProcess
from plumbing.messaging.host import MessagingHost
from plumbing.messaging.relay import OutboxRelay
from plumbing.settings import Settings
from plumbing.store.select import cipher_key, store_env
from services.intake.application import IntakeApplication
from services.intake.operations import operations
from services.intake.translate import translator


def build(settings: Settings) -> ServiceProcess:
    subjects = Subjects(settings.prefix, settings.partitions)
    env = store_env(settings)
    sealer = privacy.sealer(settings, cipher_key(settings))
    app = IntakeApplication(env=env, sealer=sealer)
    guard = Guard.from_settings(settings, app)
    relay = OutboxRelay(
        app=app,
        service=INTAKE,
        subjects=subjects,
        translate=audited(translator(subjects), subjects, INTAKE),
    )
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        service=INTAKE,
        app=app,
        relay=relay,
        feeds=[care_team.feed(app, INTAKE)],
    )
    ops = [*operations(app), *guard.operations(), *operators.operations(messaging)]
    command = lambda name: subjects.command(INTAKE, name)  # noqa: E731
    messaging.responders = nats_responders(
        ops, command, guard, max_bytes=settings.max_request_bytes
    )
    routes = [
        *http_routes(ops, guard, max_bytes=settings.max_request_bytes),
        *docs.routes(INTAKE, ops),
    ]
    return ServiceProcess(
        settings=settings,
        app=app,
        routes=routes,
        messaging=messaging,
        background=[guard.repeat_flusher],
    )
