"""``lantern demo --scenario``: a scripted school morning, run against a real system.

It starts its own Lantern (embedded nats-server, SQLite, the demo district)
with a short escalation policy, so a morning of twenty incidents plays out in
well under a minute. It reports them, then plays the responders by a script:
some acknowledge at once, some late, one declines, some never answer, and one
incident has no eligible responder (a threat at a school where nobody on call
is trained in threat assessment). It ends when every incident is either
acknowledged or escalated to the top of its chain, and prints a summary table.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantern import runfile
from lantern.cli_auth import token_for
from lantern.client import ServiceError, request, use_token
from lantern.render import progress

ACK_SECONDS = 3


def short_policy_toml(version: str, ack_seconds: int, extra: str = "") -> str:
    """The same acknowledgement deadline for every risk, no on-scene deadline, one round.

    Used by the scenario and by tests that need escalation to play out in seconds.
    """
    risks = "".join(f"{r} = {ack_seconds}\n" for r in ("imminent", "high", "moderate", "low"))
    no_deadline = "".join(f"{r} = 0\n" for r in ("imminent", "high", "moderate", "low"))
    return (
        f'[dispatch]\nversion = "{version}"\n\n'
        f"[dispatch.ack_deadline_seconds]\n{risks}\n"
        f"[dispatch.on_scene_deadline_seconds]\n{no_deadline}\n"
        '[dispatch.escalation]\nchain = ["next_responder", "supervisor", "district_crisis_lead"]\n'
        f"repeat_limit = 0\n{extra}"
    )


POLICY = short_policy_toml("scenario-morning", ACK_SECONDS)

#: (school, category, risk, what the responders do)
#: ack: the paged responder acknowledges at once; late: nobody answers the first page, then the
#: first responder acknowledges after the escalation; decline: the first responder declines and
#: the next acknowledges; ignore: nobody ever answers.
SCRIPT: list[tuple[str, str, str, str]] = [
    ("maple-es", "suicidal_ideation", "high", "ack"),
    ("cedar-ms", "acute_distress", "moderate", "ack"),
    ("birch-hs", "self_harm", "high", "late"),
    ("alder-hs", "grief_trauma", "low", "ack"),
    ("willow-k8", "harm_to_others", "high", "ack"),  # nobody trained on call: supervisor
    ("maple-es", "abuse_disclosure", "moderate", "decline"),
    ("cedar-ms", "substance_use", "moderate", "ack"),
    ("birch-hs", "acute_distress", "high", "ignore"),
    ("alder-hs", "suicidal_ideation", "imminent", "ack"),
    ("willow-k8", "other", "low", "late"),
    ("maple-es", "grief_trauma", "low", "ack"),
    ("cedar-ms", "self_harm", "high", "ack"),
    ("birch-hs", "harm_to_others", "high", "ack"),
    ("alder-hs", "acute_distress", "moderate", "late"),
    ("willow-k8", "acute_distress", "moderate", "ack"),
    ("maple-es", "other", "low", "ignore"),
    ("cedar-ms", "acute_distress", "moderate", "ack"),
    ("birch-hs", "grief_trauma", "low", "ack"),
    ("alder-hs", "substance_use", "moderate", "ack"),
    ("willow-k8", "suicidal_ideation", "high", "ack"),
]


@dataclass
class Incident:
    number: int
    school: str
    category: str
    risk: str
    plan: str
    incident_id: str = ""
    reported: float = 0.0
    acted: set[str] = field(default_factory=set)
    view: dict[str, Any] = field(default_factory=dict)
    acknowledged_after: float | None = None

    @property
    def done(self) -> bool:
        phase = self.view.get("phase")
        return phase in ("acknowledged", "exhausted") and (
            phase != "acknowledged" or self.acknowledged_after is not None
        )


class Morning:
    def __init__(self, urls: dict[str, str], out: Any = sys.stdout) -> None:
        self.intake = urls["intake"]
        self.dispatch = urls["dispatch"]
        self.out = out
        self.incidents = [Incident(n + 1, *row) for n, row in enumerate(SCRIPT)]

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def report_all(self, sent: Callable[[], None] = lambda: None) -> None:
        for incident in self.incidents:
            accepted = request(
                "POST",
                f"{self.intake}/incidents",
                {
                    "school_id": incident.school,
                    "student_ref": f"stu-scn-{incident.number:02d}",
                    "categories": [incident.category],
                    "risk": incident.risk,
                    "reporter_id": f"staff-{incident.number:02d}",
                },
                {"X-Lantern-Actor": f"staff-{incident.number:02d}"},
            )
            incident.incident_id = accepted["incident_id"]
            incident.reported = time.monotonic()
            self.say(
                f"{time.strftime('%H:%M:%S')}  report #{incident.number:<2} "
                f"{incident.risk:<8} {incident.category:<18} at {incident.school}"
            )
            sent()
            for _ in range(2):  # the responders keep working while reports come in
                time.sleep(0.1)
                self._pass()

    def _pass(self) -> None:
        for incident in self.incidents:
            if incident.incident_id and not incident.done:
                self._act(incident)

    def play(self, timeout_s: float = 120, on_settled: Callable[[], None] = lambda: None) -> None:
        deadline = time.monotonic() + timeout_s
        counted = 0
        while time.monotonic() < deadline:
            done = sum(1 for i in self.incidents if i.done)
            for _ in range(done - counted):
                on_settled()
            counted = done
            if done == len(self.incidents):
                return
            self._pass()
            time.sleep(0.2)
        raise TimeoutError("the scenario did not settle in time")

    def _act(self, incident: Incident) -> None:
        try:
            incident.view = request(
                "GET", f"{self.dispatch}/incidents/{incident.incident_id}/response"
            )
        except ServiceError as exc:
            if exc.status == 404:
                return  # dispatch has not received the report yet: nobody can act on it
            raise
        dispatches = incident.view.get("dispatches", [])
        if incident.view.get("phase") == "acknowledged" and incident.acknowledged_after is None:
            incident.acknowledged_after = time.monotonic() - incident.reported
        if not dispatches or incident.view.get("phase") != "paging":
            return
        first, current = dispatches[0], dispatches[-1]
        if incident.plan == "ack" and current["state"] == "assigned":
            self._ack(incident, current)
        elif incident.plan == "late" and len(dispatches) >= 2:
            self._ack(incident, first)  # a late acknowledgement still counts
        elif incident.plan == "decline":
            if "declined" not in incident.acted:
                incident.acted.add("declined")
                self._post(incident, first, "decline", reason="already with another student")
            elif current["state"] == "assigned" and current is not first:
                self._ack(incident, current)

    def _ack(self, incident: Incident, dispatch: dict[str, Any]) -> None:
        key = f"ack:{dispatch['dispatch_id']}"
        if key not in incident.acted:
            incident.acted.add(key)
            self._post(incident, dispatch, "ack")

    def _post(self, incident: Incident, dispatch: dict[str, Any], verb: str, **extra: str) -> None:
        body = {"responder_id": dispatch["responder_id"], **extra}
        try:
            request(
                "POST",
                f"{self.dispatch}/dispatches/{dispatch['dispatch_id']}/{verb}",
                body,
                {"X-Lantern-Actor": dispatch["responder_id"]},
            )
            self.say(
                f"{time.strftime('%H:%M:%S')}  #{incident.number:<2} "
                f"{dispatch['responder_id']} {verb}"
            )
        except ServiceError as exc:
            self.say(
                f"{time.strftime('%H:%M:%S')}  #{incident.number:<2} "
                f"{dispatch['responder_id']} {verb} refused: {exc.error}"
            )

    def summary(self) -> list[dict[str, Any]]:
        rows = []
        for i in self.incidents:
            dispatches = i.view.get("dispatches", [])
            acked = next((d for d in dispatches if d["state"] == "acknowledged"), None)
            top = i.view.get("escalations", [])
            rows.append(
                {
                    "number": i.number,
                    "incident_id": i.incident_id,
                    "school": i.school,
                    "risk": i.risk,
                    "category": i.category,
                    "script": i.plan,
                    "outcome": i.view.get("phase"),
                    "acknowledged_by": acked["responder_id"] if acked else None,
                    "seconds_to_ack": round(i.acknowledged_after, 1)
                    if i.acknowledged_after is not None
                    else None,
                    "escalations": [f"{e['reason']}->{e['to'] or 'none'}" for e in top],
                    "declined": any(d["state"] == "declined" for d in dispatches),
                }
            )
        return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'#':>2}  {'school':<10} {'risk':<9} {'category':<18} {'script':<8} "
        f"{'outcome':<13} {'by':<11} {'ack s':>5}  escalations"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        by = r["acknowledged_by"] or "-"
        secs = "-" if r["seconds_to_ack"] is None else f"{r['seconds_to_ack']:.1f}"
        lines.append(
            f"{r['number']:>2}  {r['school']:<10} {r['risk']:<9} {r['category']:<18} "
            f"{r['script']:<8} {r['outcome']:<13} {by:<11} {secs:>5}  "
            f"{', '.join(r['escalations']) or '-'}"
        )
    acked = sum(r["outcome"] == "acknowledged" for r in rows)
    top = sum(r["outcome"] == "exhausted" for r in rows)
    lines.append("-" * len(head))
    lines.append(
        f"{len(rows)} incidents: {acked} acknowledged, {top} escalated to the top of "
        f"the chain, {sum(r['declined'] for r in rows)} declined on the way, "
        f"{sum(bool(r['escalations']) for r in rows)} escalated at least once"
    )
    return "\n".join(lines)


def run(
    data_dir: Path | None = None, as_json: bool = False, results: dict[str, Any] | None = None
) -> int:
    """Start a system with the scenario policy, play the morning, print the summary."""
    workdir = data_dir or Path(tempfile.mkdtemp(prefix="lantern-scenario-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "scenario.toml"
    config.write_text(POLICY)
    log = (workdir / "up.log").open("w")
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lantern.cli",
            "up",
            "--demo",
            "--data-dir",
            str(workdir),
            "--config",
            str(config),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    out = sys.stderr if as_json else sys.stdout
    try:
        deadline = time.monotonic() + 60
        while not (workdir / runfile.RUNFILE).exists():
            if up.poll() is not None or time.monotonic() > deadline:
                print((workdir / "up.log").read_text(), file=sys.stderr)
                return 1
            time.sleep(0.1)
        print(
            f"scenario: system up under {workdir}; acknowledgement deadline {ACK_SECONDS} s "
            "for every risk (accelerated morning)",
            file=out,
        )
        use_token(token_for(workdir))  # the dev identity `lantern up` made possible
        morning = Morning(runfile.read(workdir)["services"], out=out)
        with progress("reports sent", len(morning.incidents)) as sent:
            morning.report_all(sent.advance)
        with progress("incidents settled", len(morning.incidents)) as settled_bar:
            morning.play(on_settled=settled_bar.advance)
        rows = morning.summary()
        if results is not None:
            results["morning"] = rows
        if not as_json:
            print(table(rows))
        settled = all(r["outcome"] in ("acknowledged", "exhausted") for r in rows)
        return 0 if settled else 1
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            up.kill()
