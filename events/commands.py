"""Commands and replies: what clients send to services, in any language.

Validation lives in the types (lengths, enums), so HTTP, NATS and the CLI all
reject the same input with the same field path.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from events.vocabulary import Category, ResponderRole, RiskLevel

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Note = Annotated[str, msgspec.Meta(max_length=10_000)]


class ReportIncidentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A staff member reports a student in distress."""

    school_id: Ref
    student_ref: Ref
    categories: Annotated[list[Category], msgspec.Meta(min_length=1, max_length=8)]
    risk: RiskLevel
    reporter_id: Ref
    note: Note = ""
    idempotency_key: Annotated[str, msgspec.Meta(max_length=128)] = ""


class IncidentAcceptedV1(msgspec.Struct, frozen=True, kw_only=True):
    """Reply to a report: the incident is stored durably under this id."""

    incident_id: UUID
    duplicate: bool = False


class AddSchoolV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    school_id: Ref
    name: NonEmpty


class AddResponderV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Put a responder on the roster (or update them: the roster keeps the latest)."""

    responder_id: Ref
    name: NonEmpty
    role: ResponderRole
    schools: list[Ref]
    skills: list[Ref] = []
    available: bool = True


class ErrorV1(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Every refusal, on every interface: what went wrong and, for bad input, where."""

    error: str
    field: str | None = None
