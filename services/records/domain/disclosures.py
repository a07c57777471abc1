"""The record of disclosures a student's file must carry (FERPA, 34 CFR 99.32).

For each request for access to the record and each disclosure from it: the
party, their legitimate interest (purpose), the date and the legal basis.  For
the health-or-safety emergency exception (99.36): the articulable and
significant threat, and who received the information.

Built from two sources: the follow-up service's disclosure events (what was
released, to whom, why), and the audit entries (who asked to see the record).
Reads by school officials with a legitimate educational interest need no entry
under 99.32(d); they are listed apart, so compliance sees them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Roles of school officials (99.31(a)(1)): their reads are listed apart, not as requests.
SCHOOL_OFFICIAL_ROLES = frozenset(
    {"reporter", "staff", "responder", "supervisor", "compliance", "admin", "system"}
)
EMERGENCY = "health_safety_emergency"


def disclosure_line(event: Mapping[str, Any]) -> dict[str, Any]:
    """One disclosure (a ``followup.disclosure_recorded.v1`` payload) as a record line."""
    return {
        "kind": "disclosure",
        "at": event["at"],
        "party": event["party"],
        "purpose": event["purpose"],
        "legal_basis": event["legal_basis"],
        "threat": event.get("threat", ""),
        "recipients": list(event.get("recipients", [])),
        "consent_id": event.get("consent_id"),
        "incident_id": event.get("incident_id"),
        "school_id": event.get("school_id"),
        "by": event.get("by", ""),
        "source_id": event.get("disclosure_id", ""),
    }


def access_line(audit: Mapping[str, Any]) -> dict[str, Any]:
    """A request for access (an ``audit.recorded.v1`` read) as a record line."""
    basis = "break_the_glass" if audit.get("break_glass") else "access_rules"
    return {
        "kind": "access_request",
        "at": audit["at"],
        "party": audit.get("actor", ""),
        "purpose": audit.get("purpose") or audit.get("break_glass_reason", ""),
        "legal_basis": basis,
        "incident_id": audit.get("incident_id"),
        "school_id": audit.get("school_id"),
        "by": audit.get("actor", ""),
        "role": audit.get("role", ""),
        "interface": audit.get("interface", ""),
        "outcome": audit.get("outcome", ""),
        "source_id": audit.get("audit_id", ""),
        "count": audit.get("count", 1),  # identical reads in a row (one audit entry)
        "last_at": audit.get("last_at"),
    }


def is_request_for_access(audit: Mapping[str, Any]) -> bool:
    """A read by someone other than a school official, or any break-the-glass read."""
    if audit.get("kind_of_access", audit.get("kind")) != "read":
        return False
    return bool(audit.get("break_glass")) or audit.get("role") not in SCHOOL_OFFICIAL_ROLES


def missing_fields(line: Mapping[str, Any]) -> list[str]:
    """What a line lacks to meet 99.32 (and 99.36 for emergency disclosures)."""
    required = ["party", "purpose", "legal_basis", "at"]
    if line.get("legal_basis") == EMERGENCY:
        required += ["threat", "recipients"]
    return [name for name in required if not line.get(name)]


def record(lines: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The record, oldest first, each line marked with what it would still need."""
    out = []
    for line in sorted(lines, key=lambda x: str(x["at"])):
        row = dict(line)
        row["missing"] = missing_fields(line)
        out.append(row)
    return out
