"""The invariants every fault test ends with, read straight from the stores.

* no accepted report lost: every incident intake answered 201 for has exactly
  one response at dispatch (``lost`` lists those without);
* none dispatched twice: at most one initial assignment per response;
* no page and no escalation step twice: one ``ResponderPaged`` per dispatch and
  kind, one ``Escalated`` per step of a response's chain;
* every plan once: at most one follow-up plan per incident, and exactly one for
  every incident the test expects a plan for;
* the audit chain verifies: every store's hash chain, recomputed from its raw
  rows, is unbroken, and agrees with its newest signed checkpoint in JetStream
  when the test passes the checkpoints (:func:`read_anchors`).

The stores are opened directly (SQLite files or the PostgreSQL schema), so the
check works whatever state the services are in, killed ones included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext

from events.subjects import Subjects
from lantern.services import builder
from plumbing.integrity.chain_store import chain_store_for
from plumbing.integrity.chainer import integrity_key, latest_checkpoints, verify_store
from plumbing.integrity.verify import Checkpoint
from plumbing.settings import Settings
from plumbing.store.application import LanternApplication
from services.dispatch.domain.response import IncidentResponse as R
from services.followup.domain.plan import FollowupPlan
from services.intake.domain.incident import Incident


def events(app: LanternApplication) -> Iterator[Any]:
    position = 0
    while True:
        rows = app.domain_events_after(position, 5000)
        yield from (event for _, event in rows)
        if len(rows) < 5000:
            return
        position = rows[-1][0]


def open_app(settings: Settings) -> LanternApplication:
    """The service's store, without running the service."""
    return builder(settings.service)(settings).app


@dataclass
class Findings:
    accepted: int = 0
    responses: int = 0
    lost: list[str] = field(default_factory=list)
    dispatched_twice: list[str] = field(default_factory=list)
    paged_twice: list[str] = field(default_factory=list)
    escalated_twice: list[str] = field(default_factory=list)
    plans_twice: list[str] = field(default_factory=list)
    plans_missing: list[str] = field(default_factory=list)
    chain_broken: list[str] = field(default_factory=list)
    #: per store: (records, chained to, anchored to), for the test's own figures
    chains: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def problems(self) -> dict[str, list[str]]:
        return {
            k: v
            for k, v in {
                "lost": self.lost,
                "dispatched_twice": self.dispatched_twice,
                "paged_twice": self.paged_twice,
                "escalated_twice": self.escalated_twice,
                "plans_twice": self.plans_twice,
                "plans_missing": self.plans_missing,
                "chain_broken": self.chain_broken,
            }.items()
            if v
        }


async def read_anchors(js: JetStreamContext, subjects: Subjects) -> dict[str, Checkpoint]:
    """The newest signed checkpoint of every store, as ``lantern audit verify`` reads them."""
    return await latest_checkpoints(js, subjects, ("intake", "dispatch", "followup", "records"))


def check_chains(
    settings: dict[str, Settings], anchors: dict[str, Checkpoint] | None, found: Findings
) -> None:
    """Recompute each store's chain from its raw rows; with anchors, each must vouch for it."""
    key = integrity_key(dev_mode=True)
    for service, service_settings in settings.items():
        store = chain_store_for(service_settings)
        if store is None:
            continue
        try:
            if not store.exists():
                continue
            anchor = (anchors or {}).get(service)
            verdict = verify_store(store, anchor, key, require_anchor=anchors is not None)
        finally:
            store.close()
        found.chains[service] = (verdict.records, verdict.chained_to, verdict.anchored_to)
        found.chain_broken += [f"{service}:{b.position}:{b.kind}" for b in verdict.breaks]


def check(
    settings: dict[str, Settings],
    accepted: list[str],
    expect_plans: set[str] | None = None,
    anchors: dict[str, Checkpoint] | None = None,
) -> Findings:
    """Check the invariants over the stores of ``settings`` (service -> its settings).

    ``anchors`` (from :func:`read_anchors`): each chain must also agree with its signed
    checkpoint; without them, the chains are checked for internal consistency only."""
    found = Findings(accepted=len(accepted))
    check_chains(settings, anchors, found)
    intake = open_app(settings["intake"])
    try:
        reported = {
            str(e.originator_id) for e in events(intake) if isinstance(e, Incident.Reported)
        }
    finally:
        intake.close()
    missing_at_intake = [i for i in accepted if i not in reported]
    assert not missing_at_intake, f"accepted but not stored at intake: {missing_at_intake[:5]}"

    dispatch = open_app(settings["dispatch"])
    opened: Counter[str] = Counter()
    assigned: Counter[str] = Counter()
    paged: Counter[tuple[str, str]] = Counter()
    steps: Counter[tuple[str, int, int]] = Counter()
    try:
        for e in events(dispatch):
            rid = str(e.originator_id)
            if isinstance(e, R.Opened):
                opened[str(e.incident_id)] += 1
            elif isinstance(e, R.ResponderAssigned):
                assigned[rid] += 1
            elif isinstance(e, R.ResponderPaged):
                paged[(str(e.dispatch_id), e.kind)] += 1
            elif isinstance(e, R.Escalated):
                steps[(rid, e.round, e.index)] += 1
    finally:
        dispatch.close()
    found.responses = sum(opened.values())
    found.lost = [i for i in accepted if opened[i] == 0]
    found.dispatched_twice = [i for i, n in opened.items() if n > 1]
    found.dispatched_twice += [r for r, n in assigned.items() if n > 1]
    found.paged_twice = [f"{d}:{k}" for (d, k), n in paged.items() if n > 1]
    found.escalated_twice = [f"{r}:{a}.{b}" for (r, a, b), n in steps.items() if n > 1]

    if "followup" in settings:
        followup = open_app(settings["followup"])
        plans: Counter[str] = Counter()
        try:
            for e in events(followup):
                if isinstance(e, FollowupPlan.Opened):
                    plans[str(e.incident_id)] += 1
        finally:
            followup.close()
        found.plans_twice = [i for i, n in plans.items() if n > 1]
        found.plans_missing = [i for i in (expect_plans or set()) if plans[i] == 0]
    return found


def assert_invariants(
    settings: dict[str, Settings],
    accepted: list[str],
    expect_plans: set[str] | None = None,
    anchors: dict[str, Checkpoint] | None = None,
) -> Findings:
    found = check(settings, accepted, expect_plans, anchors)
    problems = found.problems()
    assert not problems, {k: v[:5] for k, v in problems.items()}
    return found
