"""Specification: who may do what, on HTTP and on NATS alike (issue 5, access control).

Given one incident at school s0, reported by t-1, dispatched to and acknowledged
by r-a, with a follow-up plan open, every role calls every operation of every
service over HTTP and over NATS request-reply.  A role outside the rules gets
403 ``{"error", "field": "authorization"}``; a role inside them is never
refused for access (the reply may still be a domain answer such as 409).  Then
the per-resource rules: another school's supervisor, a responder who was not
dispatched and another reporter are refused, and every refusal is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import msgspec
import nats
import pytest

from events.subjects import DISPATCH, FOLLOWUP, INTAKE, RECORDS, Subjects
from plumbing.access import auth, keys
from plumbing.access.auth import AUTH_HEADER
from plumbing.interface.commands import Operation
from plumbing.interface.guard import Guard
from plumbing.timers import system_clock
from services.dispatch.calendar import CalendarFeedService
from services.dispatch.operations import operations as dispatch_ops
from services.followup.operations import operations as followup_ops
from services.intake.operations import operations as intake_ops
from services.records.operations import operations as records_ops
from tests.harness import Harness, eventually
from tests.replies import check_nats_reply

pytestmark = pytest.mark.system

R, P, S, C, A = "reporter", "responder", "supervisor", "compliance", "admin"
ALL = {R, P, S, C, A}
WHO = {R: "t-1", P: "r-a", S: "sup-0", C: "comp-1", A: "adm-1"}
PLAN_WORK = {P, S, A}

#: The rules, operation by operation: the roles that may call it (in scope).
ALLOWED: dict[str, set[str]] = {
    # intake
    "report_incident": {R, P, S, A},
    "show_incident": {R, P, S, C, A},
    "add_note": {R, P, S, A},
    "reclassify_risk": {P, S, A},
    "correct_incident": {P, S, A},
    "cancel_incident": {P, S, A},
    "close_incident": {P, S, A},
    "list_schools": ALL,
    "add_school": {A},
    "show_student": {C, A},
    "shred_student": {C, A},
    # every service
    "record_refusal": ALL,
    "break_glass": {P, S},
    "list_break_glass": {C},
    "review_break_glass": {C},
    # dispatch
    "add_responder": {A},
    "import_roster": {A},
    "set_availability": {S, A},
    "add_override": {S, A},
    "swap_shift": {S, A},
    "list_roster": {P, S, A},
    "show_response": {P, S, C, A},
    "list_dispatches": {P, S, C, A},
    "acknowledge_dispatch": {P, S, A},
    "decline_dispatch": {P, S, A},
    "update_dispatch_status": {P, S, A},
    "issue_calendar_feed": {P, A},  # your own feed (an administrator: anyone's)
    "revoke_calendar_feed": {P, S, A},
    "run_whatif": {S, A},
    # follow-up
    "list_plans": {P, S, C, A},
    "show_plan": {P, S, C, A},
    "list_resources": ALL,
    "show_protocol": ALL,
    "add_resource": {A},
    "publish_protocol": {A},
    "show_measures": {S, C, A},
    # records: looking back is in scope as for the incident itself; the audit trail and the
    # record of disclosures are compliance's
    "show_timeline": ALL,
    "replay_incident": ALL,
    "show_response_measures": {S, C, A},
    "list_audit": {C, A},
    "show_disclosures": {C, A},
    **dict.fromkeys(
        (
            "reassign_plan",
            "complete_checkin",
            "no_show_checkin",
            "reschedule_checkin",
            "revise_safety_plan",
            "record_guardian_notified",
            "record_guardian_not_notified",
            "propose_referral",
            "advance_referral",
            "grant_consent",
            "withdraw_consent",
            "record_disclosure",
            "record_reentry_meeting",
            "record_accommodations",
            "schedule_reentry_checkin",
        ),
        PLAN_WORK,
    ),
}
#: Request fields that name the caller (a reporter or responder must name themselves).
SELF_FIELDS = ("by", "responder_id", "reporter_id", "owner_id")
ROSTER = [
    {"responder_id": "r-a", "name": "A", "role": "counselor", "schools": ["s0"]},
    {"responder_id": "r-b", "name": "B", "role": "counselor", "schools": ["s1"]},
]


@pytest.fixture
async def world(
    subjects: Subjects, nats_url: str, tmp_path: Any, clean_streams: None
) -> AsyncIterator[tuple[Harness, dict[str, str]]]:
    """One incident at s0 by t-1, dispatched to r-a, acknowledged, resolved, with a plan."""
    harness = Harness(subjects, nats_url, {"store": "sqlite", "data_dir": str(tmp_path)})
    for service in (INTAKE, DISPATCH, FOLLOWUP, RECORDS):
        await harness.start(service)
    for school in ("s0", "s1"):
        await harness.call("POST", "intake", "/schools", {"school_id": school, "name": school})
    await harness.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
    _, accepted = await harness.call(
        "POST",
        "intake",
        "/incidents",
        {
            "school_id": "s0",
            "student_ref": "stu-1",
            "categories": ["acute_distress"],
            "risk": "moderate",
            "reporter_id": "t-1",
        },
        token=harness.token("t-1", "reporter"),
    )
    incident = accepted["incident_id"]

    async def dispatched() -> str | None:
        status, body = await harness.call("GET", "dispatch", f"/incidents/{incident}/response")
        return (body.get("current") or {}).get("dispatch_id") if status == 200 else None

    dispatch_id = await eventually(dispatched)
    for step in ("ack", "status"):
        body = {"responder_id": "r-a", "state": "resolved"} if step == "status" else {}
        body["responder_id"] = "r-a"
        status, reply = await harness.call(
            "POST", "dispatch", f"/dispatches/{dispatch_id}/{step}", body
        )
        assert status == 200, reply

    async def plan() -> str | None:
        _, plans = await harness.call("GET", "followup", f"/plans?incident_id={incident}")
        return plans[0]["plan_id"] if plans else None

    ids = {"incident_id": incident, "dispatch_id": dispatch_id, "plan_id": await eventually(plan)}
    _, shown = await harness.call("GET", "followup", f"/plans/{ids['plan_id']}")
    ids["checkin_id"] = shown["checkins"][0]["checkin_id"]
    ids["student_ref"] = "stu-1"
    ids["school_id"] = "s0"  # district-wide figures are asked per school by supervisors

    async def recorded() -> bool:  # records has seen the report and the resolution
        _, timeline = await harness.call("GET", "records", f"/incidents/{incident}/timeline")
        types = {e["type"] for e in timeline.get("entries", [])}
        return {"incident_reported", "dispatch_status_changed"} <= types

    await eventually(recorded, 15)
    yield harness, ids
    await harness.stop_all()


def example(kind: Any, caller: str, ids: dict[str, str]) -> dict[str, Any]:
    """A request of ``kind`` that decodes, about the world's resources, naming the caller."""
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    body: dict[str, Any] = {}
    for f in info.fields:
        if f.name in SELF_FIELDS:
            body[f.name] = caller
        elif f.name in ids:
            body[f.name] = ids[f.name]
        elif f.required:
            body[f.name] = _value(f.name, f.type, ids)
    return body


def _value(name: str, t: Any, ids: dict[str, str]) -> Any:
    if isinstance(t, msgspec.inspect.UnionType):
        return _value(
            name, next(x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)), ids
        )
    if isinstance(t, msgspec.inspect.StrType) and t.pattern and t.pattern.startswith("^("):
        return t.pattern[2:].split("|")[0].split(")")[0]  # the first listed choice
    if isinstance(t, msgspec.inspect.StrType):
        return {"school_id": "s0", "student_ref": "stu-1"}.get(
            name, "x" * max(t.min_length or 1, 1)
        )
    if isinstance(t, msgspec.inspect.UUIDType):
        return ids.get(name, str(uuid.uuid4()))
    if isinstance(t, msgspec.inspect.IntType):
        return max(t.ge or 1, 1)
    if isinstance(t, msgspec.inspect.BoolType):
        return False
    if isinstance(t, msgspec.inspect.DateTimeType):
        return datetime.now(UTC).isoformat()
    if isinstance(t, msgspec.inspect.EnumType):
        member = next(iter(t.cls))
        return member.value if isinstance(member, Enum) else member
    if isinstance(t, msgspec.inspect.LiteralType):
        return t.values[0]
    if isinstance(t, msgspec.inspect.ListType):
        return [_value(name, t.item_type, ids)] if (t.min_length or 0) > 0 else []
    if isinstance(t, msgspec.inspect.DictType):
        return {}
    if isinstance(t, msgspec.inspect.StructType):
        return {f.name: _value(f.name, f.type, ids) for f in t.fields if f.required}
    return "x"


def operations(harness: Harness, service: str) -> list[Operation[Any]]:
    """The service's operation registry, as its composition root builds it."""
    app: Any = harness.running[service].process.app
    verifier = auth.Verifier(keys.KeySet(str(harness.jwks_path())))
    shared = Guard(app=app, service=service, verifier=verifier).operations()
    if service == INTAKE:
        return [*intake_ops(app), *shared]
    if service == DISPATCH:
        feeds = CalendarFeedService(app, harness.subjects, harness.nats_url, {})
        return [*dispatch_ops(app), *feeds.operations(), *shared]
    if service == RECORDS:
        return [*records_ops(app), *shared]
    return [*followup_ops(app, system_clock), *shared]


def path_of(op: Operation[Any], body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    path, rest = op.path, dict(body)
    for key in list(rest):
        if "{" + key + "}" in path:
            path = path.replace("{" + key + "}", str(rest.pop(key)))
    if op.method == "GET":
        query = "&".join(f"{k}={v}" for k, v in rest.items())
        return (f"{path}?{query}" if query else path), {}
    return path, rest


async def test_every_role_on_every_operation_over_http_and_nats_follows_the_rules(
    world: tuple[Harness, dict[str, str]], nats_url: str, subjects: Subjects
) -> None:
    harness, ids = world
    tokens = {role: harness.token(WHO[role], role, ("s0",)) for role in ALL}
    nc = await nats.connect(nats_url)
    seen: set[str] = set()
    wrong: list[str] = []
    try:
        for service in (INTAKE, DISPATCH, FOLLOWUP, RECORDS):
            for op in operations(harness, service):
                seen.add(op.name)
                for role in sorted(ALL):
                    body = example(op.kind, WHO[role], ids)
                    path, payload = path_of(op, body)
                    http, reply = await harness.call(
                        op.method, service, path, payload or None, token=tokens[role]
                    )
                    answer = await nc.request(
                        subjects.command(service, op.name),
                        msgspec.json.encode(body),
                        timeout=5,
                        headers={AUTH_HEADER: f"Bearer {tokens[role]}"},
                    )
                    over_nats = check_nats_reply(
                        service, op.name, answer.headers or {}, msgspec.json.decode(answer.data)
                    )
                    expected_refused = role not in ALLOWED[op.name]
                    for interface, status in (("http", http), ("nats", over_nats)):
                        if (status == 403) != expected_refused or status in (400, 401):
                            wrong.append(
                                f"{service}.{op.name} as {role} over {interface}: {status}"
                            )
                    if http == 403:
                        assert reply["field"] == "authorization"
    finally:
        await nc.close()
    assert not wrong, "\n".join(wrong)
    assert seen == set(ALLOWED), "every operation has a rule in this specification"


async def test_scope_refuses_other_schools_undispatched_responders_and_other_reporters(
    world: tuple[Harness, dict[str, str]],
) -> None:
    harness, ids = world
    incident = ids["incident_id"]
    outsiders = {
        "supervisor of another school": harness.token("sup-1", S, ("s1",)),
        "a responder never dispatched": harness.token("r-b", P, ("s1",)),
        "another reporter": harness.token("t-2", R),
    }
    for who, token in outsiders.items():
        status, body = await harness.call("GET", "intake", f"/incidents/{incident}", token=token)
        assert (status, body["field"]) == (403, "authorization"), who
    for service, path in (
        ("dispatch", f"/incidents/{incident}/response"),
        ("followup", f"/plans/{ids['plan_id']}"),
    ):
        status, _ = await harness.call(
            "GET", service, path, token=outsiders["a responder never dispatched"]
        )
        assert status == 403, path

    # r-a was dispatched: intake and follow-up know it from dispatch's events
    mine = harness.token("r-a", P, ("s0",))
    assert (await harness.call("GET", "intake", f"/incidents/{incident}", token=mine))[0] == 200
    # but r-a may not act as someone else
    status, body = await harness.call(
        "POST",
        "dispatch",
        f"/dispatches/{ids['dispatch_id']}/status",
        {"responder_id": "r-b", "state": "resolved"},
        token=mine,
    )
    assert status == 403
    assert "responder_id" in body["error"]


async def test_no_token_is_401_and_a_forged_one_too(world: tuple[Harness, dict[str, str]]) -> None:
    harness, _ = world
    forged = harness.token("adm-1", A)[:-4] + "AAAA"
    for token in ("not-a-token", forged):
        status, body = await harness.call("GET", "intake", "/schools", token=token)
        assert (status, body["field"]) == (401, "authorization")


async def test_a_supervisor_lists_only_their_schools_dispatches_and_plans(
    world: tuple[Harness, dict[str, str]],
) -> None:
    harness, ids = world
    mine = harness.token("sup-0", S, ("s0",))
    other = harness.token("sup-1", S, ("s1",))

    _, own_dispatches = await harness.call("GET", "dispatch", "/dispatches", token=mine)
    _, other_dispatches = await harness.call("GET", "dispatch", "/dispatches", token=other)
    _, own_plans = await harness.call("GET", "followup", "/plans", token=mine)
    _, other_plans = await harness.call("GET", "followup", "/plans", token=other)

    assert [d["dispatch_id"] for d in own_dispatches] == [ids["dispatch_id"]]
    assert other_dispatches == []
    assert [p["plan_id"] for p in own_plans] == [ids["plan_id"]]
    assert other_plans == []


async def test_a_supervisor_sees_figures_of_their_schools_only(
    world: tuple[Harness, dict[str, str]],
) -> None:
    harness, _ = world
    supervisor = harness.token("sup-0", S, ("s0",))
    compliance = harness.token("comp-1", C)

    own, _ = await harness.call("GET", "records", "/measures?school_id=s0", token=supervisor)
    other, _ = await harness.call("GET", "records", "/measures?school_id=s1", token=supervisor)
    district, _ = await harness.call("GET", "followup", "/measures", token=supervisor)
    everyone, _ = await harness.call("GET", "followup", "/measures", token=compliance)

    assert (own, other, district, everyone) == (200, 403, 403, 200)
