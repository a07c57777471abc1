"""The subject catalogue: every NATS subject and stream name is written here once.

Token layout (``<prefix>`` defaults to ``lantern``; tests use a unique one per run
so they can share a server):

* ``<prefix>.evt.<service>.<event>``  integration events, captured by the
  service's own JetStream stream ``<PREFIX>_<SERVICE>``;
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


@dataclass(frozen=True)
class Subjects:
    """All subjects and stream names for one deployment prefix."""

    prefix: str = "lantern"

    # -- streams ---------------------------------------------------------------
    def stream(self, service: str) -> str:
        """JetStream stream holding one service's integration events."""
        return f"{self.prefix.upper()}_{service.upper()}"

    def stream_subjects(self, service: str) -> str:
        """Wildcard captured by :meth:`stream`."""
        return f"{self.prefix}.evt.{service}.>"

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

    @property
    def incident_reported(self) -> str:
        return self.event(INTAKE, "incident_reported")

    @property
    def responder_assigned(self) -> str:
        return self.event(DISPATCH, "responder_assigned")

    @property
    def no_responder_eligible(self) -> str:
        return self.event(DISPATCH, "no_responder_eligible")

    # -- request-reply commands -----------------------------------------------------
    def command(self, service: str, name: str) -> str:
        return f"{self.prefix}.cmd.{service}.{name}"

    @property
    def report_incident(self) -> str:
        return self.command(INTAKE, "report_incident")
