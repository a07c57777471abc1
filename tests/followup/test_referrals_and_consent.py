"""Follow-up domain: referrals, informed consent and its withdrawal, disclosures."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from plumbing.domain import Conflict, Invalid, NotFound
from tests.followup.support import DAYS, consent_for, opened_plan, with_referral
from tests.support import NOW, TRACE, then, types

pytestmark = pytest.mark.domain


def test_a_referral_walks_the_whole_path_to_closed() -> None:
    plan = opened_plan()
    referral = with_referral(plan)
    plan.move_referral(referral, "consent_requested", note="", at=NOW, trace=TRACE)
    consent_for(plan, referral)

    for step in ("referred", "contacted", "appointment_scheduled", "attended", "closed"):
        plan.move_referral(referral, step, note="", at=NOW, trace=TRACE)

    assert plan.referrals[referral].state == "closed"


def test_skipping_a_step_is_refused_naming_the_allowed_ones() -> None:
    plan = opened_plan()
    referral = with_referral(plan)

    with pytest.raises(Conflict) as refused:
        plan.move_referral(referral, "referred", note="", at=NOW, trace=TRACE)

    assert refused.value.field == "to"
    assert "allowed: closed, consent_given, consent_requested" in refused.value.message


def test_consent_given_is_reached_only_by_recording_the_consent() -> None:
    plan = opened_plan()
    referral = with_referral(plan)
    plan.move_referral(referral, "consent_requested", note="", at=NOW, trace=TRACE)

    with pytest.raises(Conflict) as refused:
        plan.move_referral(referral, "consent_given", note="", at=NOW, trace=TRACE)

    assert refused.value.field == "to"


def test_a_declined_consent_can_only_be_closed() -> None:
    plan = opened_plan()
    referral = with_referral(plan)
    plan.move_referral(referral, "consent_requested", note="", at=NOW, trace=TRACE)
    plan.move_referral(referral, "consent_declined", note="family declined", at=NOW, trace=TRACE)

    with pytest.raises(Conflict):
        plan.move_referral(referral, "referred", note="", at=NOW, trace=TRACE)
    plan.move_referral(referral, "closed", note="", at=NOW, trace=TRACE)


def test_a_consent_must_cover_the_referrals_resource() -> None:
    plan = opened_plan()
    referral = with_referral(plan)

    with pytest.raises(Invalid) as refused:
        consent_for(plan, referral, recipients=["someone-else"])

    assert refused.value.field == "recipients"


def test_referring_records_a_disclosure_under_the_consent() -> None:
    plan = opened_plan()
    referral = with_referral(plan)
    consent = consent_for(plan, referral)
    plan.collect_events()

    plan.move_referral(referral, "referred", note="", at=NOW, trace=TRACE)

    moved, disclosed = then(plan)
    assert types([moved, disclosed]) == [
        "FollowupPlan.ReferralMoved",
        "FollowupPlan.DisclosureRecorded",
    ]
    assert disclosed.legal_basis == "consent"
    assert disclosed.consent_id == consent
    assert disclosed.party == "res-therapy"


def test_withdrawing_consent_blocks_every_later_disclosing_step_and_says_why() -> None:
    plan = opened_plan()
    referral = with_referral(plan)
    consent = consent_for(plan, referral)
    plan.move_referral(referral, "referred", note="", at=NOW, trace=TRACE)
    plan.move_referral(referral, "contacted", note="", at=NOW, trace=TRACE)
    plan.move_referral(referral, "appointment_scheduled", note="", at=NOW, trace=TRACE)

    blocked = plan.withdraw_consent(
        consent, withdrawn_by="guardian", reason="changed mind", at=NOW + DAYS, trace=TRACE
    )

    assert blocked == [referral]
    assert "withdrawn by guardian" in plan.referrals[referral].blocked_reason
    with pytest.raises(Conflict) as refused:
        plan.move_referral(referral, "attended", note="", at=NOW + DAYS, trace=TRACE)
    assert refused.value.field == "consent"
    assert f"consent {consent} was withdrawn" in refused.value.message
    plan.move_referral(referral, "closed", note="consent withdrawn", at=NOW + DAYS, trace=TRACE)


def test_a_disclosure_under_a_withdrawn_consent_names_the_conflict() -> None:
    plan = opened_plan()
    referral = with_referral(plan)
    consent = consent_for(plan, referral)
    plan.withdraw_consent(consent, withdrawn_by="guardian", reason="", at=NOW, trace=TRACE)

    with pytest.raises(Conflict) as refused:
        plan.record_disclosure(
            party="res-therapy",
            purpose="update",
            legal_basis="consent",
            consent_id=consent,
            threat="",
            recipients=[],
            information=[],
            at=NOW,
            trace=TRACE,
        )

    assert refused.value.field == "consent_id"
    assert "withdrawn" in refused.value.message


def test_withdrawing_twice_is_refused() -> None:
    plan = opened_plan()
    consent = consent_for(plan, with_referral(plan))
    plan.withdraw_consent(consent, withdrawn_by="guardian", reason="", at=NOW, trace=TRACE)

    with pytest.raises(Conflict):
        plan.withdraw_consent(consent, withdrawn_by="guardian", reason="", at=NOW, trace=TRACE)


def test_a_new_consent_resumes_a_blocked_referral() -> None:
    plan = opened_plan()
    referral = with_referral(plan)
    first = consent_for(plan, referral)
    plan.move_referral(referral, "referred", note="", at=NOW, trace=TRACE)
    plan.withdraw_consent(first, withdrawn_by="guardian", reason="", at=NOW, trace=TRACE)

    second = consent_for(plan, referral)
    plan.move_referral(referral, "contacted", note="", at=NOW, trace=TRACE)

    assert plan.referrals[referral].consent_id == second
    assert plan.referrals[referral].blocked_reason == ""


def test_an_emergency_disclosure_needs_the_threat_and_the_recipients() -> None:
    plan = opened_plan()

    with pytest.raises(Invalid) as no_threat:
        plan.record_disclosure(
            party="mobile-crisis",
            purpose="emergency",
            legal_basis="health_safety_emergency",
            consent_id=None,
            threat=" ",
            recipients=["mobile crisis team"],
            information=[],
            at=NOW,
            trace=TRACE,
        )
    with pytest.raises(Invalid) as no_recipients:
        plan.record_disclosure(
            party="mobile-crisis",
            purpose="emergency",
            legal_basis="health_safety_emergency",
            consent_id=None,
            threat="stated plan and means tonight",
            recipients=[],
            information=[],
            at=NOW,
            trace=TRACE,
        )
    plan.record_disclosure(
        party="mobile-crisis",
        purpose="emergency",
        legal_basis="health_safety_emergency",
        consent_id=None,
        threat="stated plan and means tonight",
        recipients=["mobile crisis team"],
        information=[],
        at=NOW,
        trace=TRACE,
    )

    assert (no_threat.value.field, no_recipients.value.field) == ("threat", "recipients")
    assert types(then(plan))[-1] == "FollowupPlan.DisclosureRecorded"


def test_a_disclosure_under_consent_must_name_an_existing_consent() -> None:
    plan = opened_plan()

    with pytest.raises(Invalid):
        plan.record_disclosure(
            party="x",
            purpose="p",
            legal_basis="consent",
            consent_id=None,
            threat="",
            recipients=[],
            information=[],
            at=NOW,
            trace=TRACE,
        )
    with pytest.raises(NotFound):
        plan.record_disclosure(
            party="x",
            purpose="p",
            legal_basis="consent",
            consent_id=uuid4(),
            threat="",
            recipients=[],
            information=[],
            at=NOW,
            trace=TRACE,
        )


def test_a_referral_without_progress_is_flagged_to_its_owner_once() -> None:
    plan = opened_plan()
    referral = with_referral(plan)
    stale_after = plan.referrals[referral].stale_after
    assert stale_after - NOW == 7 * DAYS

    early = plan.flag_stalled(
        referral, stale_after=stale_after, now=stale_after - timedelta(seconds=1), trace=TRACE
    )
    flagged = plan.flag_stalled(referral, stale_after=stale_after, now=stale_after, trace=TRACE)
    again = plan.flag_stalled(referral, stale_after=stale_after, now=stale_after, trace=TRACE)

    assert (early, flagged, again) == (False, True, False)
    assert plan.referrals[referral].stalled


def test_progress_makes_an_old_stall_timer_stale() -> None:
    plan = opened_plan()
    referral = with_referral(plan)
    old = plan.referrals[referral].stale_after
    plan.move_referral(referral, "consent_requested", note="", at=NOW + DAYS, trace=TRACE)

    assert not plan.flag_stalled(referral, stale_after=old, now=old, trace=TRACE)
