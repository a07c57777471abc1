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


# -- the catalogue: what travels on each subject -----------------------------------------------
# Message tags name the payload types in ``events.schema.CATALOGUE``; the AsyncAPI and
# OpenAPI documents, ``lantern schema`` and the contract tests are generated from here.


@dataclass(frozen=True)
class Command:
    """One request-reply operation: ``command(service, name)`` over NATS, and HTTP.

    ``reply`` ends in ``[]`` for a JSON array of that message; ``statuses`` are
    the success statuses it answers with (201 when it created something, 200
    for a repeat of an idempotent create).
    """

    request: str
    reply: str
    statuses: tuple[int, ...] = (200,)


def _created(request: str, reply: str) -> Command:
    return Command(request, reply, (201,))


_CHANGED = "reply.incident_changed.v1"
_PLAN = "reply.plan_changed.v1"
_DISPATCH = "reply.dispatch.v1"

#: Every operation each service answers on ``<prefix>.cmd.<service>.<name>``.
COMMANDS: dict[str, dict[str, Command]] = {
    INTAKE: {
        "report_incident": Command(
            "command.report_incident.v1", "reply.incident_accepted.v1", (201, 200)
        ),
        "show_incident": Command("query.show_incident.v1", "reply.incident.v1"),
        "add_note": Command("command.add_note.v1", _CHANGED),
        "reclassify_risk": Command("command.reclassify_risk.v1", _CHANGED),
        "correct_incident": Command("command.correct_incident.v1", _CHANGED),
        "cancel_incident": Command("command.cancel_incident.v1", _CHANGED),
        "close_incident": Command("command.close_incident.v1", _CHANGED),
        "list_schools": Command("query.list_schools.v1", "reply.school.v1[]"),
        "add_school": _created("command.add_school.v1", "reply.school.v1"),
        "show_student": Command("query.show_student.v1", "reply.student.v1"),
        "shred_student": Command("command.shred_student.v1", "reply.student_shredded.v1"),
    },
    DISPATCH: {
        "add_responder": _created("command.add_responder.v1", "reply.responder_changed.v1"),
        "import_roster": _created("command.import_roster.v1", "reply.roster_imported.v1"),
        "set_availability": Command("command.set_availability.v1", "reply.responder_changed.v1"),
        "add_override": Command("command.add_override.v1", "reply.responder_changed.v1"),
        "swap_shift": Command("command.swap_shift.v1", "reply.shift_swapped.v1"),
        "list_roster": Command("query.list_roster.v1", "reply.responder.v1[]"),
        "show_response": Command("query.show_response.v1", "reply.response.v1"),
        "list_dispatches": Command("query.list_dispatches.v1", "reply.dispatch_row.v1[]"),
        "acknowledge_dispatch": Command("command.acknowledge_dispatch.v1", _DISPATCH),
        "decline_dispatch": Command("command.decline_dispatch.v1", _DISPATCH),
        "update_dispatch_status": Command("command.update_dispatch_status.v1", _DISPATCH),
        "issue_calendar_feed": _created("command.issue_calendar_feed.v1", "reply.calendar_feed.v1"),
        "revoke_calendar_feed": Command(
            "command.revoke_calendar_feed.v1", "reply.calendar_feed.v1"
        ),
        "run_whatif": Command("query.run_whatif.v1", "reply.whatif.v1"),
    },
    FOLLOWUP: {
        "list_plans": Command("query.list_plans.v1", "reply.plan.v1[]"),
        "show_plan": Command("query.show_plan.v1", "reply.plan.v1"),
        "reassign_plan": Command("command.reassign_plan.v1", _PLAN),
        "complete_checkin": Command("command.complete_checkin.v1", _PLAN),
        "no_show_checkin": Command("command.no_show_checkin.v1", _PLAN),
        "reschedule_checkin": Command("command.reschedule_checkin.v1", _PLAN),
        "revise_safety_plan": _created("command.revise_safety_plan.v1", _PLAN),
        "record_guardian_notified": _created("command.record_guardian_notified.v1", _PLAN),
        "record_guardian_not_notified": _created("command.record_guardian_not_notified.v1", _PLAN),
        "propose_referral": _created("command.propose_referral.v1", _PLAN),
        "advance_referral": Command("command.advance_referral.v1", _PLAN),
        "grant_consent": _created("command.grant_consent.v1", _PLAN),
        "withdraw_consent": Command("command.withdraw_consent.v1", _PLAN),
        "record_disclosure": _created("command.record_disclosure.v1", _PLAN),
        "record_reentry_meeting": _created("command.record_reentry_meeting.v1", _PLAN),
        "record_accommodations": _created("command.record_accommodations.v1", _PLAN),
        "schedule_reentry_checkin": _created("command.schedule_reentry_checkin.v1", _PLAN),
        "list_resources": Command("query.list_resources.v1", "reply.resource.v1[]"),
        "add_resource": _created("command.add_resource.v1", "reply.resource_listed.v1"),
        "show_protocol": Command("query.show_protocol.v1", "reply.protocol.v1"),
        "publish_protocol": _created("command.publish_protocol.v1", "reply.protocol.v1"),
        "show_measures": Command("query.show_measures.v1", "reply.followup_measures.v1"),
    },
    RECORDS: {
        "show_timeline": Command("query.show_timeline.v1", "reply.timeline.v1"),
        "replay_incident": Command("query.replay_incident.v1", "reply.replay.v1"),
        "show_response_measures": Command(
            "query.show_response_measures.v1", "reply.response_measures.v1"
        ),
        "list_audit": Command("query.list_audit.v1", "reply.audit_row.v1[]"),
        "show_disclosures": Command("query.show_disclosures.v1", "reply.record_of_disclosures.v1"),
    },
}

#: Operations every service answers the same way (break-the-glass and its review queue).
SHARED_COMMANDS: dict[str, Command] = {
    "break_glass": _created("command.break_glass.v1", "reply.break_glass_recorded.v1"),
    "list_break_glass": Command("query.list_break_glass.v1", "reply.break_glass_access.v1[]"),
    "review_break_glass": Command("command.review_break_glass.v1", "reply.break_glass_reviewed.v1"),
    "record_refusal": _created("command.record_refusal.v1", "reply.refusal_recorded.v1"),
}


#: Operators' operations (administrators only): dead letters, on every consuming service...
DEAD_LETTER_COMMANDS: dict[str, Command] = {
    "list_dead_letters": Command("query.list_dead_letters.v1", "reply.dead_letter_row.v1[]"),
    "show_dead_letter": Command("query.show_dead_letter.v1", "reply.dead_letter.v1"),
    "redrive_dead_letter": _created(
        "command.redrive_dead_letter.v1", "reply.dead_letter_settled.v1"
    ),
    "dismiss_dead_letter": _created(
        "command.dismiss_dead_letter.v1", "reply.dead_letter_settled.v1"
    ),
}
#: ... and a new store epoch, on every service with an outbox relay (SERVICES).
EPOCH_COMMANDS: dict[str, Command] = {
    "start_epoch": _created("command.start_epoch.v1", "reply.epoch_started.v1"),
}
#: Services that consume a feed (and so park dead letters): every service.
CONSUMERS = tuple(dict.fromkeys(consumer for consumer, *_ in FEEDS))


def commands(service: str) -> dict[str, Command]:
    """Everything ``service`` answers: its own operations, the shared and the operators' ones."""
    return {
        **COMMANDS.get(service, {}),
        **SHARED_COMMANDS,
        **(DEAD_LETTER_COMMANDS if service in CONSUMERS else {}),
        **(EPOCH_COMMANDS if service in SERVICES else {}),
    }


#: Integration events each service publishes: subject token -> message tag.
EVENTS: dict[str, dict[str, str]] = {
    INTAKE: {
        name: f"intake.{name}.v1"
        for name in (
            "incident_reported",
            "report_linked",
            "risk_reclassified",
            "incident_corrected",
            "incident_noted",
            "incident_cancelled",
            "incident_closed",
        )
    },
    DISPATCH: {
        name: f"dispatch.{name}.v1"
        for name in (
            "responder_enrolled",
            "responder_assigned",
            "no_responder_eligible",
            "dispatch_acknowledged",
            "dispatch_declined",
            "dispatch_escalated",
            "dispatch_status_changed",
            "notification_delivery",
        )
    },
    FOLLOWUP: {
        name: f"followup.{name}.v1"
        for name in (
            "plan_opened",
            "plan_reassigned",
            "checkin_recorded",
            "renewed_risk_reported",
            "referral_changed",
            "consent_changed",
            "guardian_notification_recorded",
            "disclosure_recorded",
        )
    },
}

#: What each service puts in a person's inbox (``inbox(service, person)``).
INBOX: dict[str, str] = {
    DISPATCH: "dispatch.responder_paged.v1",
    FOLLOWUP: "followup.notice.v1",
}

#: ``audit(service)`` carries each of SERVICES' audit entries (records keeps its own inside).
AUDIT_MESSAGE = "audit.recorded.v1"
#: ``checkpoint(store)`` carries each store's signed chain heads; every service has a store.
CHECKPOINT_MESSAGE = "integrity.checkpoint.v1"
STORES = (*SERVICES, RECORDS)
#: Every refusal, on every interface (with ``Lantern-Status`` on NATS).
ERROR_MESSAGE = "reply.error.v1"
