"""The subject catalogue: every NATS subject and stream name is written here once.

Token layout (``<prefix>`` defaults to ``lantern``; tests use a unique one per run
so they can share a server):

* ``<prefix>.evt.<service>.p<N>.<event>``  integration events in partition ``N``,
  captured by the service's own JetStream stream ``<PREFIX>_<SERVICE>``;
* ``<prefix>.audit.<service>.p<N>``         the service's audit entries (same stream);
* ``<prefix>.inbox.<service>.<person>``     messages for one person (same stream);
* ``<prefix>.cmd.<service>.<command>``      request-reply commands (core NATS, never
  stored in a stream, because a command is answered, not replayed);
* ``<prefix>.dlq.<service>.<consumer>``     messages a consumer of ``service`` parked,
  stream ``<PREFIX>_DLQ_<SERVICE>`` (one per consuming service, written by it alone);
* ``<PREFIX>_LEASES``                       a key-value bucket: which instance holds
  which partition, relay, ticker or notifier.

**Partitions.** An incident's events always go to partition
``partition_of(incident_id)`` (a stable hash modulo the deployment's partition
count, ``LANTERN_PARTITIONS``, default 4), so per-incident order holds while
partitions progress independently and can be held by different instances.
Events that concern no incident (roster, staff, schools) live in partition 0,
their documented home.  Changing the partition count moves incidents between
partitions: drain the streams first (``lantern dlq`` and ``/readyz`` show when
nothing is pending).

In family subjects (``subjects.incident_reported``, ``subjects.audit(service)``)
the partition token is ``*``: they match every partition, for subscriptions and
filters.  The relay places the concrete partition with :meth:`Subjects.place`.

**Tokens.** A person id is a subject token of the inbox subject.  Ids may
contain ``.`` (``j.smith``), which NATS would read as a token separator, so
every id put into a subject goes through :func:`token`, which percent-encodes
``.``, ``*``, ``>``, ``%`` and whitespace; :func:`untoken` reverses it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from uuid import UUID

INTAKE = "intake"
DISPATCH = "dispatch"
FOLLOWUP = "followup"
SERVICES = (INTAKE, DISPATCH, FOLLOWUP)
RECORDS = "records"  # consumes every stream; publishes no integration events of its own

#: Who follows what: (consuming service, feed name, upstream service, subject family).
#: A feed is one durable pull consumer per partition, named ``<feed>-p<N>``.
FEEDS: tuple[tuple[str, str, str, str], ...] = (
    (INTAKE, f"{INTAKE}-care-team", DISPATCH, "evt"),
    (DISPATCH, f"{DISPATCH}-from-{INTAKE}", INTAKE, "evt"),
    (FOLLOWUP, f"{FOLLOWUP}-from-{DISPATCH}", DISPATCH, "evt"),
    (FOLLOWUP, f"{FOLLOWUP}-care-team", DISPATCH, "evt"),
    *((RECORDS, f"{RECORDS}-from-{s}", s, "evt") for s in SERVICES),
    *((RECORDS, f"{RECORDS}-audit-from-{s}", s, "audit") for s in SERVICES),
)

DEFAULT_PARTITIONS = 4
ANY = "*"  # the partition token of a family subject
_UNSAFE = re.compile(r"[.*>%\s]")
_ENCODED = re.compile(r"%([0-9A-F]{2})")


def token(value: str) -> str:
    """``value`` as one subject token (``j.smith`` -> ``j%2Esmith``); reversible."""
    return _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", value)


def untoken(value: str) -> str:
    return _ENCODED.sub(lambda m: chr(int(m.group(1), 16)), value)


def partition_of(key: UUID | str | None, partitions: int) -> int:
    """The partition of an incident (0 for events that concern no incident).

    A hash that every process and language computes alike (never Python's
    ``hash``): the first four bytes of BLAKE2b over the id's canonical text.
    """
    if key is None or key == "" or partitions <= 1:
        return 0
    digest = hashlib.blake2b(str(key).lower().encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % partitions


def partition_token(partition: int | None) -> str:
    return ANY if partition is None else f"p{partition}"


@dataclass(frozen=True)
class Subjects:
    """All subjects and stream names for one deployment prefix."""

    prefix: str = "lantern"
    partitions: int = DEFAULT_PARTITIONS

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.prefix):
            raise ValueError(
                f"a subject prefix is one token of letters, digits, - or _: {self.prefix!r}"
            )
        if not 1 <= self.partitions <= 64:
            raise ValueError("the partition count must be between 1 and 64")

    # -- partitions --------------------------------------------------------------
    def partition_of(self, key: UUID | str | None) -> int:
        return partition_of(key, self.partitions)

    def place(self, subject: str, partition: int) -> str:
        """A family subject (partition ``*``) with its concrete partition filled in."""
        tokens = subject.split(".")
        if len(tokens) < 4 or tokens[1] not in ("evt", "audit") or tokens[3] != ANY:
            raise ValueError(f"not a partitioned family subject: {subject}")
        tokens[3] = partition_token(partition)
        return ".".join(tokens)

    def partition_in(self, subject: str) -> int | None:
        """The partition a concrete event or audit subject is in (None for others)."""
        tokens = subject.split(".")
        if len(tokens) >= 4 and tokens[1] in ("evt", "audit") and tokens[3].startswith("p"):
            digits = tokens[3][1:]
            return int(digits) if digits.isdigit() else None
        return None

    def family(self, subject: str) -> str:
        """A concrete subject with its partition token back to ``*`` (for comparisons)."""
        tokens = subject.split(".")
        if len(tokens) >= 4 and tokens[1] in ("evt", "audit"):
            tokens[3] = ANY
        return ".".join(tokens)

    # -- streams ---------------------------------------------------------------
    def stream(self, service: str) -> str:
        """JetStream stream holding one service's integration events."""
        return f"{self.prefix.upper()}_{service.upper()}"

    def stream_subjects(self, service: str, partition: int | None = None) -> str:
        """The service's integration events (of one partition, or all): a consumer filter."""
        return f"{self.prefix}.evt.{service}.{partition_token(partition)}.>"

    def stream_captures(self, service: str) -> list[str]:
        """Everything :meth:`stream` holds: events, audit entries and inbox messages.

        They share one stream (and one outbox relay, so one resume point), but live
        under separate first tokens, so a consumer of the events is not handed every
        audit entry and page as well.
        """
        return [
            f"{self.prefix}.evt.{service}.>",
            f"{self.prefix}.audit.{service}.>",
            f"{self.prefix}.inbox.{service}.*",
        ]

    def dlq_stream(self, service: str) -> str:
        """Dead letters of one consuming service (it alone writes them)."""
        return f"{self.prefix.upper()}_DLQ_{service.upper()}"

    def dlq_subjects(self, service: str) -> str:
        return f"{self.prefix}.dlq.{service}.>"

    def dlq(self, service: str, consumer: str) -> str:
        """Where ``service``'s durable ``consumer`` parks a message it cannot process."""
        return f"{self.prefix}.dlq.{service}.{token(consumer)}"

    @property
    def leases_bucket(self) -> str:
        """The key-value bucket of partition, relay, ticker and notifier leases."""
        return f"{self.prefix.upper()}_LEASES"

    # -- integration events ------------------------------------------------------
    def event(self, service: str, name: str, partition: int | None = None) -> str:
        return f"{self.prefix}.evt.{service}.{partition_token(partition)}.{name}"

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
    def audit(self, service: str, partition: int | None = None) -> str:
        """One service's audit entries (followed by records on their own)."""
        return f"{self.prefix}.audit.{service}.{partition_token(partition)}"

    # -- responder inboxes ---------------------------------------------------------------------
    def inbox(self, service: str, person_id: str) -> str:
        """A person's inbox, fed by ``service``; clients subscribe with :meth:`inbox_all`."""
        return f"{self.prefix}.inbox.{service}.{token(person_id)}"

    def inbox_all(self, person_id: str) -> str:
        """Everything addressed to one person, from every service (console, pager gateway)."""
        return f"{self.prefix}.inbox.*.{token(person_id)}"

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
