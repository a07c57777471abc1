"""Specification: who may do what, on HTTP and on NATS alike (issue 5, access control).

Given one incident at school s0, reported by t-1, dispatched to and acknowledged
by r-a, with a follow-up plan open, every role calls every operation of every
service over HTTP and over NATS request-reply.  A role outside the rules gets
403 ``{"error", "field": "authorization"}``; a role inside them is never
refused for access (the reply may still be a domain answer such as 409).  Then
the per-resource rules: another school's supervisor, a responder who was not
dispatched and another reporter are refused, and every refusal is audited.

Issue 9 adds: every roster write is scoped to the supervisor's schools like a
read; acting as someone else is refused (403 naming the field) or, for an
administrator and a service's delegation, recorded "on behalf of"; a
break-the-glass grant is capped by the caller's token and the policy and
cannot ask for another; and a key rotation keeps both keys valid at once.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest

from events.subjects import DISPATCH, FOLLOWUP, INTAKE, RECORDS, Subjects
from plumbing.access import auth, keys
from plumbing.access.auth import AUTH_HEADER, Grant
from plumbing.interface import operators
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
    # operators, on every service with consumers (dead letters) or a relay (epochs)
    "list_dead_letters": {A},
    "show_dead_letter": {A},
    "redrive_dead_letter": {A},
    "dismiss_dead_letter": {A},
    "start_epoch": {A},
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
#: Allowed calls the matrix does not make, because they would change the world it tests in;
#: each is exercised where it is specified: an administrator starting a new store epoch
#: (tests/system/test_relay_faults.py).
NOT_TRIED = {("start_epoch", A)}
#: Request fields that name the caller (a reporter or responder must name themselves).
SELF_FIELDS = ("by", "responder_id", "reporter_id", "owner_id")
#: Roster writes name a responder of the world (r-a at s0), not the caller.
ROSTER_WRITES = {"set_availability", "add_override", "swap_shift", "revoke_calendar_feed"}
RESPONDER_FIELDS = ("responder_id", "from_responder_id", "to_responder_id")
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
    process: Any = harness.running[service].process
    app: Any = process.app
    verifier = auth.Verifier(keys.KeySet(str(harness.jwks_path())))
    shared = [
        *Guard(app=app, service=service, verifier=verifier).operations(),
        *operators.operations(process.messaging),  # dead letters and epochs: administrators'
    ]
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
        placeholder = re.search(r"\{" + key + r"(:\w+)?\}", path)  # {seq} or {seq:int}
        if placeholder:
            path = path.replace(placeholder.group(0), str(rest.pop(key)))
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
                    if (op.name, role) in NOT_TRIED:
                        continue
                    body = example(op.kind, WHO[role], ids)
                    if op.name in ROSTER_WRITES:
                        body.update({f: "r-a" for f in RESPONDER_FIELDS if f in body})
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


# -- issue 9: every write scoped, acting as someone else, break-the-glass, key rotation ---------
async def both(
    harness: Harness,
    nc: Any,
    subjects: Subjects,
    service: str,
    op: str,
    body: dict[str, Any],
    token: str,
) -> tuple[tuple[int, Any], tuple[int, Any]]:
    """The same request over HTTP and over NATS request-reply: (status, reply) of each."""
    operation = next(o for o in operations(harness, service) if o.name == op)
    path, payload = path_of(operation, body)
    http = await harness.call(operation.method, service, path, payload or None, token=token)
    answer = await nc.request(
        subjects.command(service, op),
        msgspec.json.encode(body),
        timeout=5,
        headers={AUTH_HEADER: f"Bearer {token}"},
    )
    reply = msgspec.json.decode(answer.data)
    return http, (check_nats_reply(service, op, answer.headers or {}, reply), reply)


SOON = {"start": "2030-01-01T08:00:00+00:00", "end": "2030-01-01T12:00:00+00:00", "reason": "x"}


async def test_a_supervisor_changes_the_roster_only_of_responders_at_their_schools(
    world: tuple[Harness, dict[str, str]], nats_url: str, subjects: Subjects
) -> None:
    harness, _ = world
    maple = harness.token("sup-1", S, ("s1",))  # r-b works at s1, r-a at s0
    writes: list[tuple[str, dict[str, Any]]] = [
        ("set_availability", {"responder_id": "r-a", "available": False, "reason": "x"}),
        ("add_override", {"responder_id": "r-a", "on_call": True, **SOON}),
        ("swap_shift", {"from_responder_id": "r-b", "to_responder_id": "r-a", **SOON}),
        ("swap_shift", {"from_responder_id": "r-a", "to_responder_id": "r-b", **SOON}),
        ("revoke_calendar_feed", {"responder_id": "r-a"}),
        ("set_availability", {"responder_id": "nobody", "available": False, "reason": "x"}),
    ]
    nc = await nats.connect(nats_url)
    try:
        for op, body in writes:
            for status, reply in await both(harness, nc, subjects, DISPATCH, op, body, maple):
                assert (status, reply["field"]) == (403, "authorization"), (op, body, reply)
        # their own responder: allowed, on both interfaces
        own = {"responder_id": "r-b", "available": True, "reason": "back"}
        for status, reply in await both(
            harness, nc, subjects, DISPATCH, "set_availability", own, maple
        ):
            assert status == 200, reply
    finally:
        await nc.close()
    _, roster = await harness.call("GET", "dispatch", "/roster/responders")
    assert next(r for r in roster if r["responder_id"] == "r-a")["available"] is True


async def test_acting_as_someone_else_is_refused_naming_the_field(
    world: tuple[Harness, dict[str, str]], nats_url: str, subjects: Subjects
) -> None:
    harness, ids = world
    report = {
        "school_id": "s0",
        "student_ref": "stu-9",
        "categories": ["acute_distress"],
        "risk": "low",
        "reporter_id": "t-1",
    }
    note = {"incident_id": ids["incident_id"], "text": "seen at lunch", "by": "lead-sage"}
    cases: list[tuple[str, str, str, dict[str, Any], str]] = [
        (harness.token("sup-0", S, ("s0",)), INTAKE, "report_incident", report, "reporter_id"),
        (harness.token("sup-0", S, ("s0",)), INTAKE, "add_note", note, "by"),
        (harness.token("r-a", P, ("s0",)), INTAKE, "add_note", note, "by"),
        (harness.token("t-2", R), INTAKE, "report_incident", report, "reporter_id"),
    ]
    nc = await nats.connect(nats_url)
    try:
        for token, service, op, body, field in cases:
            for status, reply in await both(harness, nc, subjects, service, op, body, token):
                assert (status, reply["field"]) == (403, field), (op, reply)
    finally:
        await nc.close()


async def test_an_administrator_or_a_delegation_acting_for_someone_is_recorded_on_their_behalf(
    world: tuple[Harness, dict[str, str]],
) -> None:
    harness, ids = world
    delegation = harness.settings(FOLLOWUP).service_token  # report_incident only
    body = {
        "school_id": "s0",
        "student_ref": "stu-8",
        "categories": ["acute_distress"],
        "risk": "low",
        "reporter_id": "r-a",
    }
    status, _ = await harness.call("POST", "intake", "/incidents", body, token=delegation)
    assert status == 201
    status, _ = await harness.call(
        "POST", "intake", "/incidents", {**body, "student_ref": "stu-7", "reporter_id": "t-1"}
    )
    assert status == 201  # the default identity: an administrator
    # the delegation opens nothing else
    for method, path in (("GET", f"/incidents/{ids['incident_id']}"), ("GET", "/schools")):
        assert (await harness.call(method, "intake", path, token=delegation))[0] == 403
    assert (await harness.call("GET", "followup", "/plans", token=delegation))[0] == 403

    async def recorded() -> list[tuple[str, str]] | None:
        _, rows = await harness.call("GET", "records", "/audit?action=report_incident")
        found = [(r["actor"], r["purpose"]) for r in rows if r["purpose"].startswith("on behalf")]
        return found if len(found) >= 2 else None

    assert sorted(await eventually(recorded, 15)) == [
        ("service:followup", "on behalf of r-a; "),
        ("test-admin", "on behalf of t-1; "),
    ]


async def test_break_the_glass_never_outlives_the_caller_and_never_chains(
    world: tuple[Harness, dict[str, str]],
) -> None:
    harness, ids = world
    now = datetime.now(UTC)
    short = harness.token("r-b", P, ("s1",), ttl=timedelta(minutes=2))
    status, granted = await harness.break_glass(short, {"reason": "student missing", "minutes": 60})
    assert status == 201
    until = datetime.fromisoformat(granted["until"])
    assert until <= now + timedelta(minutes=2, seconds=1)  # not 60 minutes: the token's end
    long_token = harness.token("r-b", P, ("s1",), ttl=timedelta(hours=8))
    status, granted = await harness.break_glass(
        long_token, {"reason": "student missing", "minutes": 60}
    )
    assert datetime.fromisoformat(granted["until"]) <= now + timedelta(minutes=61)
    # the grant opens the incident, but cannot ask for another grant
    grant = granted["token"]
    assert (await harness.call("GET", "intake", f"/incidents/{ids['incident_id']}", token=grant))[
        0
    ] == 200
    status, refused = await harness.break_glass(grant, {"reason": "again", "minutes": 60})
    assert (status, refused["field"]) == (403, "authorization")
    assert "cannot ask for another" in refused["error"]

    async def audited() -> list[tuple[str, int]] | None:  # the refusal is in the audit history
        _, rows = await harness.call("GET", "records", "/audit?action=break_glass&actor=r-b")
        found = [(r["outcome"], r["status"]) for r in rows]
        return found if ("refused", 403) in found else None

    assert sorted(await eventually(audited, 15)) == [
        ("allowed", 201),
        ("allowed", 201),
        ("refused", 403),
    ]


async def test_break_the_glass_is_capped_by_the_district_policy(
    subjects: Subjects, nats_url: str, tmp_path: Any, clean_streams: None
) -> None:
    harness = Harness(subjects, nats_url, {"store": "sqlite", "data_dir": str(tmp_path)})
    harness.break_glass_max_minutes = 10
    await harness.start(INTAKE)
    try:
        now = datetime.now(UTC)
        token = harness.token("r-b", P, ("s1",))
        status, granted = await harness.break_glass(token, {"reason": "missing", "minutes": 45})
        assert status == 201
        assert datetime.fromisoformat(granted["until"]) <= now + timedelta(minutes=10, seconds=1)
        # a longer grant from a careless issuer is refused by the service itself
        long = harness.token(
            "r-b", P, ("s1",), grant=Grant("missing", now + timedelta(minutes=45), "a-1")
        )
        assert (await harness.call("GET", "intake", "/schools", token=long))[0] == 401
    finally:
        await harness.stop_all()


async def test_a_rotated_key_and_the_old_one_are_both_honoured_until_the_old_is_withdrawn(
    world: tuple[Harness, dict[str, str]],
) -> None:
    harness, _ = world
    data_dir = Path(harness.store["data_dir"])
    old_token = harness.token("adm-1", A)
    new_kid = keys.rotate(data_dir / keys.DEV_PRIVATE_KEY, data_dir / keys.DEV_JWKS)
    rotated = auth.Issuer(keys.load_private_key(data_dir / keys.DEV_PRIVATE_KEY))
    assert rotated.kid == new_kid
    new_token = rotated.issue(subject="adm-1", role=A)
    reads = {
        INTAKE: "/schools",
        DISPATCH: "/roster/responders",
        FOLLOWUP: "/resources",
        RECORDS: "/audit?limit=1",
    }
    for service, path in reads.items():  # the running services, not restarted
        for token in (old_token, new_token):
            assert (await harness.call("GET", service, path, token=token))[0] == 200, service

    jwks = data_dir / keys.DEV_JWKS
    document = json.loads(jwks.read_text())
    document["keys"] = [k for k in document["keys"] if k["kid"] == new_kid]
    jwks.write_text(json.dumps(document))
    assert (await harness.call("GET", "intake", "/schools", token=new_token))[0] == 200
    status, body = await harness.call("GET", "intake", "/schools", token=old_token)
    assert (status, body["field"]) == (401, "authorization")


#: Commands a supervisor may send that touch no school's resources.
UNSCOPED = {"record_refusal", "break_glass"}


async def test_every_command_a_supervisor_may_send_is_refused_for_another_school(
    world: tuple[Harness, dict[str, str]], nats_url: str, subjects: Subjects
) -> None:
    """The world is all at s0; sup-1 supervises s1: every write is refused, on both interfaces."""
    harness, ids = world
    ids = dict(ids)
    for op_name in ("add_resource", "propose_referral", "grant_consent"):  # s0's items too
        op = next(o for o in operations(harness, FOLLOWUP) if o.name == op_name)
        path, payload = path_of(op, example(op.kind, "adm-1", ids))
        status, made = await harness.call(op.method, FOLLOWUP, path, payload)
        assert status in (200, 201), (op_name, made)
        ids.update({k: str(v) for k, v in made.items() if k.endswith("_id") and k not in ids})
    maple = harness.token("sup-1", S, ("s1",))
    nc = await nats.connect(nats_url)
    checked: set[str] = set()
    wrong: list[str] = []
    try:
        for service in (INTAKE, DISPATCH, FOLLOWUP, RECORDS):
            for op in operations(harness, service):
                kind = op.access.kind if op.access else "command"
                if kind != "command" or S not in ALLOWED[op.name] or op.name in UNSCOPED:
                    continue
                body = example(op.kind, "sup-1", ids)
                if op.name in ROSTER_WRITES:
                    body.update({f: "r-a" for f in RESPONDER_FIELDS if f in body})
                for status, reply in await both(
                    harness, nc, subjects, service, op.name, body, maple
                ):
                    if (status, reply.get("field")) != (403, "authorization"):
                        wrong.append(f"{service}.{op.name}: {status} {reply}")
                checked.add(op.name)
    finally:
        await nc.close()
    assert not wrong, "\n".join(wrong)
    assert {"set_availability", "add_override", "swap_shift", "add_note"} <= checked
    assert len(checked) >= 25, sorted(checked)
