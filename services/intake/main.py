"""Composition root of the intake service."""

from __future__ import annotations

from events.subjects import INTAKE, Subjects
from plumbing.host import ServiceProcess
from plumbing.messaging import MessagingHost
from plumbing.relay import OutboxRelay
from plumbing.settings import Settings
from plumbing.store import store_env
from services.intake.application import IntakeApplication
from services.intake.http import routes
from services.intake.messaging import report_responder
from services.intake.translate import translator


def build(settings: Settings) -> ServiceProcess:
    subjects = Subjects(settings.prefix)
    app = IntakeApplication(env=store_env(settings))
    relay = OutboxRelay(
        app=app, service=INTAKE, stream=subjects.stream(INTAKE), translate=translator(subjects)
    )
    messaging = MessagingHost(
        nats_url=settings.nats_url,
        subjects=subjects,
        relay=relay,
        responders={subjects.report_incident: report_responder(app)},
    )
    return ServiceProcess(settings=settings, app=app, routes=routes(app), messaging=messaging)
