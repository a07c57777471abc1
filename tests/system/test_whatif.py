"""What-if on a real system: the demo morning reproduced, access over HTTP and NATS, the CLI.

* The scripted morning (``lantern demo --scenario morning``) runs on a real
  system; replayed offline from its dispatch store under the policy pinned
  then, every recorded step comes out the same.
* ``run_whatif`` over HTTP and NATS: responders, reporters and compliance are
  refused; a supervisor sees only their schools, and naming another school is
  refused and audited; on both stores.
* ``lantern whatif`` against a running ``lantern up``, and ``--offline``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest

from events.subjects import DISPATCH, Subjects
from plumbing.access.auth import AUTH_HEADER
from plumbing.settings import Settings
from services.dispatch.whatif import reading
from services.dispatch.whatif.fidelity import divergences
from services.dispatch.whatif.replay import replay
from tests.harness import Harness, eventually
from tests.lantern_cli import as_json, lantern, running_system
from tests.replies import check_nats_reply

pytestmark = pytest.mark.system

LONGER_CHAIN = """
[dispatch]
version = "morning-repeat-once"

[dispatch.ack_deadline_seconds]
imminent = 3
high = 3
moderate = 3
low = 3

[dispatch.on_scene_deadline_seconds]
imminent = 0
high = 0
moderate = 0
low = 0

[dispatch.escalation]
repeat_limit = 1
"""

CLI = [sys.executable, "-m", "lantern.cli"]
MORNING = [sys.executable, "-m", "lantern.cli", "demo", "--scenario", "morning", "--json"]
ROSTER: list[dict[str, Any]] = [
    {"responder_id": "co-a", "name": "A", "role": "counselor", "schools": ["s0"]},
    {"responder_id": "co-b", "name": "B", "role": "counselor", "schools": ["s1"]},
    {"responder_id": "sup-d", "name": "D", "role": "supervisor", "schools": ["s0", "s1"]},
]


# -- the demo morning ---------------------------------------------------------------------------
def test_the_demo_morning_replays_exactly_and_the_cli_compares_another_policy(
    tmp_path: Path,
) -> None:
    morning = subprocess.run(
        [*MORNING, "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert morning.returncode == 0, morning.stderr[-3000:]
    before = files_of(tmp_path)  # reading offline, in-process or by the CLI, writes nothing

    with reading.offline(Settings(service="dispatch", data_dir=tmp_path, dev_mode=True)) as history:
        result = replay(history)
    assert len(result.incidents) == 20
    different = divergences(result)
    assert not different, "\n".join(str(d) for d in different)

    out = tmp_path / "whatif"
    policy = tmp_path.parent / f"{tmp_path.name}-repeat-once.toml"  # outside what is compared
    policy.write_text(LONGER_CHAIN)
    run = lantern(
        tmp_path, "whatif", "--offline", "--policy", str(policy), "--json", "--out", str(out)
    )
    document = as_json(run)
    assert files_of(tmp_path, but=out) == before  # --offline created and changed nothing
    assert document["kind"] == "lantern.dispatch.whatif"
    assert document["policy"]["version"] == "morning-repeat-once"
    actual, whatif = document["overall"]["actual"], document["overall"]["whatif"]
    assert actual["incidents"] == whatif["incidents"] == 20
    assert actual["exhausted"] == 2  # the two incidents nobody answers
    assert whatif["escalation_steps"] > actual["escalation_steps"]  # the chain runs again
    assert len(document["incidents"]) == 20
    for name in ("whatif.json", "summary.csv", "responders.csv", "incidents.csv", "whatif.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def files_of(directory: Path, but: Path | None = None) -> dict[Path, tuple[int, int]]:
    """Every file under ``directory`` (those under ``but`` aside), with its size and mtime."""
    return {
        p: (p.stat().st_size, p.stat().st_mtime_ns)
        for p in directory.rglob("*")
        if p.is_file() and (but is None or but not in p.parents)
    }


# -- access, over HTTP and NATS ----------------------------------------------------------------
@pytest.fixture
async def district(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    """One incident at s0 and one at s1, both dispatched."""
    harness = Harness(subjects, nats_url, store)
    await harness.start("intake")
    await harness.start("dispatch")
    for school in ("s0", "s1"):
        await harness.call("POST", "intake", "/schools", {"school_id": school, "name": school})
    status, body = await harness.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
    assert status == 201, body
    for school in ("s0", "s1"):
        status, body = await harness.report(school_id=school, student_ref=f"stu-{school}")
        assert status == 201, body

    async def both_dispatched() -> bool:
        _, rows = await harness.call("GET", "dispatch", "/dispatches")
        return len(rows) == 2

    await eventually(both_dispatched)
    yield harness
    await harness.stop_all()


def body(**more: Any) -> dict[str, Any]:
    return {"policy": '[dispatch]\nversion = "v2"\n', "incidents": True, **more}


async def test_only_supervisors_and_administrators_may_run_a_whatif(district: Harness) -> None:
    refused = {
        role: await district.call(
            "POST", "dispatch", "/whatif", body(), token=district.token(who, role, ("s0",))
        )
        for role, who in (("responder", "co-a"), ("reporter", "t-1"), ("compliance", "c-1"))
    }
    allowed = {
        role: await district.call(
            "POST", "dispatch", "/whatif", body(), token=district.token(who, role, ("s0",))
        )
        for role, who in (("supervisor", "sup-d"), ("admin", "adm-1"))
    }

    assert {r: (s, b["field"]) for r, (s, b) in refused.items()} == dict.fromkeys(
        refused, (403, "authorization")
    )
    assert {r: s for r, (s, _) in allowed.items()} == {"supervisor": 200, "admin": 200}


async def test_a_supervisor_sees_only_their_schools_and_naming_another_is_refused(
    district: Harness,
) -> None:
    supervisor = district.token("sup-d", "supervisor", ("s0",))

    status, own = await district.call("POST", "dispatch", "/whatif", body(), token=supervisor)
    refused, why = await district.call(
        "POST", "dispatch", "/whatif", body(schools=["s1"]), token=supervisor
    )
    _, everyone = await district.call("POST", "dispatch", "/whatif", body())  # an administrator

    assert status == 200
    assert own["schools"] == ["s0"]
    assert [s["school_id"] for s in own["by_school"]] == ["s0"]
    assert {i["school_id"] for i in own["incidents"]} == {"s0"}
    assert own["overall"]["actual"]["incidents"] == 1
    assert own["replay"]["incidents"] == 2  # the policy is district-wide: both were replayed
    assert (refused, why["field"]) == (403, "authorization")
    assert "s1" in why["error"]
    assert [s["school_id"] for s in everyone["by_school"]] == ["s0", "s1"]
    app: Any = district.running["dispatch"].process.app
    entries = [
        e
        for _, e in app.domain_events_after(0, 10_000)
        if type(e).__name__ == "Recorded" and getattr(e, "action", "") == "run_whatif"
    ]
    assert [(e.outcome, e.status) for e in entries] == [
        ("allowed", 200),
        ("refused", 403),
        ("allowed", 200),
    ]


async def test_the_same_over_nats_and_a_bad_policy_names_the_field(
    district: Harness, nats_url: str, subjects: Subjects
) -> None:
    nc = await nats.connect(nats_url)
    try:

        async def ask(payload: dict[str, Any], token: str) -> tuple[int, Any]:
            answer = await nc.request(
                subjects.command(DISPATCH, "run_whatif"),
                msgspec.json.encode(payload),
                timeout=10,
                headers={AUTH_HEADER: f"Bearer {token}"},
            )
            reply = json.loads(answer.data)
            status = check_nats_reply(DISPATCH, "run_whatif", answer.headers or {}, reply)
            return status, reply

        supervisor = district.token("sup-d", "supervisor", ("s1",))
        own = await ask(body(), supervisor)
        responder = await ask(body(), district.token("co-a", "responder", ("s0",)))
        bad = await ask({"policy": "[dispatch]\nescalation = 3\n"}, supervisor)
    finally:
        await nc.close()

    assert own[0] == 200
    assert [s["school_id"] for s in own[1]["by_school"]] == ["s1"]
    assert responder[0] == 403
    assert bad[0] == 422
    assert bad[1]["field"] == "policy"
    assert "dispatch.escalation" in bad[1]["error"]


# -- the command line against a running system -------------------------------------------------
def test_the_cli_asks_the_running_dispatch_and_the_caller_role_applies(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[dispatch]\nversion = "cli"\n[dispatch.escalation]\nrepeat_limit = 2\n')
    (tmp_path / "run").mkdir()
    with running_system(tmp_path / "run") as data_dir:
        reported = lantern(
            data_dir,
            "report",
            "--school",
            "birch-hs",
            "--student",
            "stu-w1",
            "--category",
            "acute_distress",
            "--risk",
            "high",
            "--reporter",
            "t-1",
            "--json",
        )
        incident = as_json(reported)["incident_id"]
        eventually_dispatched(data_dir, incident)
        out = tmp_path / "out"
        document = as_json(
            lantern(data_dir, "whatif", "--policy", str(policy), "--json", "--out", str(out))
        )
        table = lantern(data_dir, "whatif", "--policy", str(policy), "--school", "birch-hs")
        as_responder = subprocess.run(
            [*CLI, "--data-dir", str(data_dir), "whatif", "--policy", str(policy), "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "LANTERN_ROLE": "responder", "LANTERN_AS": "fr-1"},
        )

    assert document["policy"]["version"] == "cli"
    assert [i["incident_id"] for i in document["incidents"]] == [incident]
    assert (out / "whatif.png").exists()
    assert table.returncode == 0, table.stderr
    assert "time to acknowledge, p50" in table.stdout
    assert as_responder.returncode == 1
    assert json.loads(as_responder.stderr)["field"] == "authorization"


def eventually_dispatched(data_dir: Path, incident: str) -> None:
    for _ in range(100):
        status = lantern(data_dir, "status", incident, "--json")
        if status.returncode == 0 and json.loads(status.stdout)["dispatch"]:
            return
    raise AssertionError(f"incident {incident} was never dispatched")
