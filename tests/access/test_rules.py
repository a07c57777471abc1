"""Specification of the access rules and tokens, without any service running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plumbing.access import auth
from plumbing.access import rules as access
from plumbing.access.auth import AuthError, Role
from plumbing.access.rules import Resource, decide

SECRET = b"district-secret"
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
AT_S0 = Resource(
    incident_id="i-1",
    school_id="s0",
    student_ref="stu-1",
    reporters=frozenset({"t-1"}),
    responders=frozenset({"r-a"}),
)
SHOW = access.read(access.EVERYONE, lambda _: AT_S0)


def who(subject: str, role: Role, *schools: str, **grant: object) -> auth.Identity:
    return auth.verify(
        SECRET,
        auth.issue(SECRET, subject=subject, role=role, schools=schools, now=NOW, **grant),  # type: ignore[arg-type]
        NOW,
    )


def test_a_token_carries_its_identity_and_is_refused_when_forged_or_expired() -> None:
    token = auth.issue(SECRET, subject="sup-0", role=Role.SUPERVISOR, schools=["s0"], now=NOW)
    identity = auth.verify(SECRET, token, NOW)
    assert (identity.subject, identity.role, identity.schools) == ("sup-0", "supervisor", ("s0",))
    with pytest.raises(AuthError, match="signature"):
        auth.verify(b"another-district", token, NOW)
    with pytest.raises(AuthError, match="expired"):
        auth.verify(SECRET, token, NOW + timedelta(hours=9))


@pytest.mark.parametrize(
    ("identity", "allowed"),
    [
        (who("t-1", Role.REPORTER), True),  # reported it
        (who("t-2", Role.REPORTER), False),
        (who("r-a", Role.RESPONDER), True),  # dispatched to it
        (who("r-b", Role.RESPONDER), False),
        (who("sup-0", Role.SUPERVISOR, "s0"), True),
        (who("sup-1", Role.SUPERVISOR, "s1"), False),
        (who("comp-1", Role.COMPLIANCE), True),
        (who("adm-1", Role.ADMIN), True),
    ],
)
def test_reading_an_incident_follows_role_and_scope(identity: auth.Identity, allowed: bool) -> None:
    assert decide(SHOW, identity, None, AT_S0, NOW).allowed is allowed


def test_break_the_glass_opens_scope_until_it_expires_and_says_so() -> None:
    grant = {"break_glass_reason": "student missing", "break_glass_for": timedelta(minutes=10)}
    outsider = who("r-b", Role.RESPONDER, **grant)

    during = decide(SHOW, outsider, None, AT_S0, NOW + timedelta(minutes=5))
    after = decide(SHOW, outsider, None, AT_S0, NOW + timedelta(minutes=11))

    assert (during.allowed, during.break_glass, during.reason) == (True, True, "student missing")
    assert after.allowed is False


def test_break_the_glass_never_lasts_longer_than_an_hour_nor_opens_administration() -> None:
    identity = who(
        "sup-1", Role.SUPERVISOR, break_glass_reason="x", break_glass_for=timedelta(days=1)
    )
    assert identity.break_glass_until == NOW + auth.MAX_BREAK_GLASS
    assert not decide(access.admin(), identity, None, None, NOW).allowed


def test_a_responder_acts_only_as_themselves() -> None:
    ack = access.command(frozenset({Role.RESPONDER}), lambda _: AT_S0, self_field="responder_id")

    class Ack:
        responder_id = "r-b"

    assert not decide(ack, who("r-a", Role.RESPONDER), Ack(), AT_S0, NOW).allowed
