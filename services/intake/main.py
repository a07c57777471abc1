"""Composition root of the intake service."""

from __future__ import annotations

from events.subjects import INTAKE, Subjects
from plumbing import care_team, privacy
from plumbing.integrity.audit import audited
from plumbing.interface.commands import http_routes, nats_responders, openapi_route
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
    subjects = Subjects(settings.prefix)
    env = store_env(settings)
    sealer = privacy.sealer(settings, cipher_key(settings))
    app = IntakeApplication(env=env, sealer=sealer)
    guard = Guard.from_settings(settings, app)
    ops = [*operations(app), *guard.operations()]
    relay = OutboxRelay(
        app=app,
        service=INTAKE,
        stream=subjects.stream(INTAKE),
        translate=audited(translator(subjects), subjects, INTAKE),
    )
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        relay=relay,
        subscriptions=[care_team.subscription(app, INTAKE, subjects)],
        responders=nats_responders(ops, lambda name: subjects.command(INTAKE, name), guard),
    )
    routes = [*http_routes(ops, guard), openapi_route("Lantern intake", ops)]
    return ServiceProcess(settings=settings, app=app, routes=routes, messaging=messaging)
