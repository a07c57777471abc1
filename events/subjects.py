"""The subject catalogue: every NATS subject and stream name is written here once.

Token layout (``<prefix>`` defaults to ``lantern``; tests use a unique one per run
so they can share a server):

* ``<prefix>.evt.<service>.<event>``  integration events, captured by the
  service's own JetStream stream ``<PREFIX>_<SERVICE>``;
* ``<prefix>.audit.<service>``         the service's audit entries (same stream);
* ``<prefix>.inbox.<service>.<person>`` messages for one person (same stream);
* ``<prefix>.cmd.<service>.<command>`` request-reply commands (core NATS, never
  stored in a stream, because a command is answered, not replayed);
* ``<prefix>.dlq.<consumer>``          parked poison messages, stream ``<PREFIX>_DLQ``.
"""

from __future__ import annotations

from dataclasses import dataclass

INTAKE = "intake"
DISPATCH = "dispatch"
FOLLOWUP = "followup"
SERVICES = (INTAKE, DISPATCH, FOLLOWUP)
RECORDS = "records"  # consumes every stream; publishes no integration events of its own


@dataclass(frozen=True)
class Subjects:
    """All subjects and stream names for one deployment prefix."""

    prefix: str = "lantern"

    # -- streams ---------------------------------------------------------------
    def stream(self, service: str) -> str:
        """JetStream stream holding one service's integration events."""
        return f"{self.prefix.upper()}_{service.upper()}"

    def stream_subjects(self, service: str) -> str:
        """The service's integration events: what other services follow (a consumer filter)."""
        return f"{self.prefix}.evt.{service}.>"

    def stream_captures(self, service: str) -> list[str]:
        """Everything :meth:`stream` holds: events, audit entries and inbox messages.

        They share one stream (and one outbox relay, so one resume point), but live
        under separate first tokens, so a consumer of the events is not handed every
        audit entry and page as well.
        """
        return [self.stream_subjects(service), self.audit(service), self.inbox(service, "*")]

    @property
    def dlq_stream(self) -> str:
        return f"{self.prefix.upper()}_DLQ"

    @property
    def dlq_subjects(self) -> str:
        return f"{self.prefix}.dlq.>"

    def dlq(self, consumer: str) -> str:
        """Where a consumer parks a message it cannot process."""
        return f"{self.prefix}.dlq.{consumer}"

    # -- integration events ------------------------------------------------------
    def event(self, service: str, name: str) -> str:
        return f"{self.prefix}.evt.{service}.{name}"

    # intake
    @property
    def incident_reported(self) -> str:
        return self.event(INTAKE, "incident_reported")

    @property
    def report_linked(self) -> str:
        return self.event(INTAKE, "report_linked")

    @property
    def risk_reclassified(self) -> str:
        return self.event(INTAKE, "risk_reclassified")

    @property
    def incident_corrected(self) -> str:
        return self.event(INTAKE, "incident_corrected")

    @property
    def incident_noted(self) -> str:
        return self.event(INTAKE, "incident_noted")

    @property
    def incident_cancelled(self) -> str:
        return self.event(INTAKE, "incident_cancelled")

    @property
    def incident_closed(self) -> str:
        return self.event(INTAKE, "incident_closed")

    # dispatch
    @property
    def responder_enrolled(self) -> str:
        return self.event(DISPATCH, "responder_enrolled")

    @property
    def responder_assigned(self) -> str:
        return self.event(DISPATCH, "responder_assigned")

    @property
    def no_responder_eligible(self) -> str:
        return self.event(DISPATCH, "no_responder_eligible")

    @property
    def dispatch_acknowledged(self) -> str:
        return self.event(DISPATCH, "dispatch_acknowledged")

    @property
    def dispatch_declined(self) -> str:
        return self.event(DISPATCH, "dispatch_declined")

    @property
    def dispatch_escalated(self) -> str:
        return self.event(DISPATCH, "dispatch_escalated")

    @property
    def dispatch_status_changed(self) -> str:
        return self.event(DISPATCH, "dispatch_status_changed")

    @property
    def notification_delivery(self) -> str:
        return self.event(DISPATCH, "notification_delivery")

    # -- audit (every service publishes its own entries) -------------------------------------
    def audit(self, service: str) -> str:
        """One service's audit entries (followed by records on their own)."""
        return f"{self.prefix}.audit.{service}"

    # -- responder inboxes ---------------------------------------------------------------------
    def inbox(self, service: str, person_id: str) -> str:
        """A person's inbox, fed by ``service``; clients subscribe with :meth:`inbox_all`."""
        return f"{self.prefix}.inbox.{service}.{person_id}"

    def inbox_all(self, person_id: str) -> str:
        """Everything addressed to one person, from every service (console, pager gateway)."""
        return f"{self.prefix}.inbox.*.{person_id}"

    # -- request-reply commands -----------------------------------------------------
    def command(self, service: str, name: str) -> str:
        return f"{self.prefix}.cmd.{service}.{name}"

    @property
    def report_incident(self) -> str:
        return self.command(INTAKE, "report_incident")

    # -- followup ----------------------------------------------------------------------
    # Integration events of the follow-up service (stream <PREFIX>_FOLLOWUP).  Notices
    # (check-in due/overdue, referral stalled) go to ``inbox(FOLLOWUP, person_id)``.
    @property
    def plan_opened(self) -> str:
        return self.event(FOLLOWUP, "plan_opened")

    @property
    def plan_reassigned(self) -> str:
        return self.event(FOLLOWUP, "plan_reassigned")

    @property
    def checkin_recorded(self) -> str:
        return self.event(FOLLOWUP, "checkin_recorded")

    @property
    def renewed_risk_reported(self) -> str:
        return self.event(FOLLOWUP, "renewed_risk_reported")

    @property
    def referral_changed(self) -> str:
        return self.event(FOLLOWUP, "referral_changed")

    @property
    def consent_changed(self) -> str:
        return self.event(FOLLOWUP, "consent_changed")

    @property
    def guardian_notification_recorded(self) -> str:
        return self.event(FOLLOWUP, "guardian_notification_recorded")

    @property
    def disclosure_recorded(self) -> str:
        return self.event(FOLLOWUP, "disclosure_recorded")

    # -- records -----------------------------------------------------------------------
    # Integrity anchors: each store's signed chain heads, in their own stream
    # ``<PREFIX>_INTEGRITY`` (deny_delete and deny_purge), one subject per store:
    # ``<prefix>.integrity.<store>``.
    @property
    def integrity_stream(self) -> str:
        return f"{self.prefix.upper()}_INTEGRITY"

    @property
    def integrity_subjects(self) -> str:
        return f"{self.prefix}.integrity.>"

    def checkpoint(self, store: str) -> str:
        """Where the chainer of ``store`` publishes its signed checkpoints."""
        return f"{self.prefix}.integrity.{store}"
