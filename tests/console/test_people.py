"""Specification: from the identity provider's verified e-mail to a Lantern person."""

from __future__ import annotations

import pytest

from plumbing.access.auth import Role
from services.console.config import ConsoleSection, MappedPerson
from services.console.people import NotMapped, resolve

pytestmark = pytest.mark.domain
ROSTER = [
    {
        "responder_id": "psy-1",
        "role": "school_psychologist",
        "schools": ["s0"],
        "email": "P1@d.example",
    },
    {
        "responder_id": "sup-1",
        "role": "supervisor",
        "schools": ["s0", "s1"],
        "email": "s1@d.example",
    },
]
CONFIG = ConsoleSection(
    staff_domains=["d.example"],
    people=[MappedPerson(email="rec@d.example", person_id="rec", role="compliance")],
)


def test_roster_people_are_responders_or_supervisors_with_their_schools() -> None:
    psy = resolve({"email": "p1@d.example"}, ROSTER, CONFIG)
    sup = resolve({"email": "s1@d.example", "email_verified": True}, ROSTER, CONFIG)
    assert (psy.person_id, psy.role, psy.schools) == ("psy-1", Role.RESPONDER, ("s0",))
    assert (sup.role, sup.schools) == (Role.SUPERVISOR, ("s0", "s1"))


def test_named_people_then_staff_domains_then_refusal() -> None:
    assert resolve({"email": "rec@d.example"}, ROSTER, CONFIG).role is Role.COMPLIANCE
    teacher = resolve({"email": "t.lee@d.example"}, ROSTER, CONFIG)
    assert (teacher.person_id, teacher.role) == ("t.lee", Role.REPORTER)
    with pytest.raises(NotMapped):
        resolve({"email": "x@elsewhere.example"}, ROSTER, CONFIG)


def test_an_unverified_or_missing_address_is_refused() -> None:
    with pytest.raises(NotMapped, match="not verified"):
        resolve({"email": "p1@d.example", "email_verified": False}, ROSTER, CONFIG)
    with pytest.raises(NotMapped, match="no e-mail"):
        resolve({"sub": "123"}, ROSTER, CONFIG)
