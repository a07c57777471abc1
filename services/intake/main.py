"""Composition root of the intake service."""

from __future__ import annotations

from events.subjects import INTAKE, Subjects
from plumbing.commands import http_routes, nats_responders, openapi_route
from plumbing.host import ServiceProcess
from plumbing.messaging import MessagingHost
from plumbing.relay import OutboxRelay
from plumbing.settings import Settings
from plumbing.store import store_env
from services.intake.application import IntakeApplication
from services.intake.operations import operations
from services.intake.translate import translator


def build(settings: Settings) -> ServiceProcess:
    subjects = Subjects(settings.prefix)
    app = IntakeApplication(env=store_env(settings))
    ops = operations(app)
    relay = OutboxRelay(
        app=app, service=INTAKE, stream=subjects.stream(INTAKE), translate=translator(subjects)
    )
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        relay=relay,
        responders=nats_responders(ops, lambda name: subjects.command(INTAKE, name)),
    )
    routes = [*http_routes(ops), openapi_route("Lantern intake", ops)]
    return ServiceProcess(settings=settings, app=app, routes=routes, messaging=messaging)
