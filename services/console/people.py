"""From the identity provider's user to a Lantern person: the roster first, then the config.

Why this order: responders and supervisors already live on dispatch's roster
(with their role, schools and e-mail), so the roster is the one place their
access is managed.  Everybody else is mapped by the console's ``[console]``
section: named people (compliance, administrators, supervisors who take no
pages), and the district's staff domains, whose members may report (any
staff member may report a student in distress).  An address that matches
nothing is refused sign-in.

Only a verified e-mail address is trusted (``email_verified`` false refuses;
an IdP that omits the claim is trusted to have verified it, as Entra ID does).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from plumbing.access.auth import Role
from services.console.config import ConsoleSection
from services.console.identity import Person

#: roster roles that supervise (everyone else on the roster responds)
SUPERVISING = frozenset({"supervisor", "district_crisis_lead"})
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_.:-]")


class NotMapped(Exception):
    """The IdP user is no Lantern person (sign-in refused, saying why)."""


def email_of(claims: Mapping[str, Any]) -> str:
    email = str(claims.get("email") or "").strip().lower()
    if not email or "@" not in email:
        raise NotMapped("your identity provider sent no e-mail address")
    if claims.get("email_verified") is False:
        raise NotMapped("your e-mail address is not verified by your identity provider")
    return email


def from_roster(row: Mapping[str, Any], source: str = "roster") -> Person:
    role = Role.SUPERVISOR if row.get("role") in SUPERVISING else Role.RESPONDER
    return Person(
        person_id=str(row["responder_id"]),
        role=role,
        schools=tuple(row.get("schools") or ()),
        name=str(row.get("name") or ""),
        source=source,
    )


def resolve(
    claims: Mapping[str, Any], roster: Iterable[Mapping[str, Any]], config: ConsoleSection
) -> Person:
    email = email_of(claims)
    for row in roster:
        if str(row.get("email") or "").lower() == email:
            return from_roster(row)
    for mapped in config.people:
        if mapped.email.lower() == email:
            return Person(
                mapped.person_id, Role(mapped.role), tuple(mapped.schools), mapped.name, "people"
            )
    local, _, domain = email.partition("@")
    if domain in {d.lower() for d in config.staff_domains}:
        person_id = _NOT_IN_ID.sub("-", local)[:64]
        return Person(person_id, Role.REPORTER, (), str(claims.get("name") or ""), "staff")
    raise NotMapped(f"{email} is not on the roster or the console's list of people")


#: The demo district's people beside its roster (lantern/demo.py seeds the roster).
DEMO_PEOPLE = (
    Person("staff-17", Role.REPORTER, (), "Teacher (demo reporter)", "demo"),
    Person("privacy-officer", Role.COMPLIANCE, (), "Records officer (demo compliance)", "demo"),
    Person("dev-admin", Role.ADMIN, (), "District administrator (demo)", "demo"),
)


def demo_people(roster: Iterable[Mapping[str, Any]]) -> list[Person]:
    """Everyone the demo "sign in as" page offers: reporter, roster, compliance, admin."""
    staff = sorted(
        (from_roster(r, "demo") for r in roster),
        key=lambda p: (p.role is Role.SUPERVISOR, p.person_id),
    )
    return [DEMO_PEOPLE[0], *staff, *DEMO_PEOPLE[1:]]
