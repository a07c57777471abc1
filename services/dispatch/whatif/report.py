"""The what-if result: one self-describing JSON document, and the table people read.

The document says what every figure is (``metrics``: key, label, unit and
which direction is better), what was compared (the policy snapshot, the
period, the schools) and how responders were modelled (``model``), so a page
in the console can render it without knowing this code.  ``actual`` is what
the record says happened; ``whatif`` is the replay under the policy.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.whatif.behaviour import MODEL
from services.dispatch.whatif.measures import Outcome, outcome, pages_per_responder, summary
from services.dispatch.whatif.replay import IncidentReplay, Replay

KIND = "lantern.dispatch.whatif"
VERSION = 1


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # "count" | "s" | "ratio" | "responder"
    better: str | None  # "lower" | "higher" | None (neither)
    description: str

    def as_record(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "better": self.better,
            "description": self.description,
        }


METRICS = (
    Metric("incidents", "incidents", "count", None, "incidents reported in the period"),
    Metric("assigned", "assigned", "count", "higher", "incidents where someone was paged"),
    Metric(
        "time_to_assign_p50_s",
        "time to assign, p50",
        "s",
        "lower",
        "from the report to the first page, median (nearest rank)",
    ),
    Metric(
        "time_to_assign_p90_s",
        "time to assign, p90",
        "s",
        "lower",
        "from the report to the first page, 90th percentile (nearest rank)",
    ),
    Metric("acknowledged", "acknowledged", "count", "higher", "incidents someone acknowledged"),
    Metric(
        "time_to_ack_p50_s",
        "time to acknowledge, p50",
        "s",
        "lower",
        "from the report to the first acknowledgement, median (acknowledged incidents only)",
    ),
    Metric(
        "time_to_ack_p90_s",
        "time to acknowledge, p90",
        "s",
        "lower",
        "from the report to the first acknowledgement, 90th percentile (acknowledged only)",
    ),
    Metric(
        "escalation_steps",
        "escalation steps",
        "count",
        "lower",
        "chain steps that paged someone (declines, timeouts, nobody eligible, not with student)",
    ),
    Metric(
        "escalation_steps_per_incident",
        "steps per incident",
        "count",
        "lower",
        "escalation steps divided by incidents",
    ),
    Metric("exhausted", "chain exhausted", "count", "lower", "incidents whose chain ran out"),
    Metric("declines", "declines", "count", None, "pages declined"),
    Metric("pages", "pages", "count", None, "every page: first assignments and escalations"),
    Metric("busiest_responder", "busiest responder", "responder", None, "who was paged the most"),
    Metric(
        "busiest_share",
        "busiest responder's share",
        "ratio",
        "lower",
        "the busiest responder's pages divided by all pages",
    ),
    Metric(
        "pages_cv",
        "load imbalance (CV)",
        "ratio",
        "lower",
        "coefficient of variation of pages per responder, over everyone paged on either side "
        "(0: perfectly even)",
    ),
    Metric(
        "modelled",
        "modelled incidents",
        "count",
        None,
        "what-if incidents where some responder behaviour was drawn from the model",
    ),
)

#: What each incident's ``actual`` and ``whatif`` record holds.
OUTCOME_FIELDS = {
    "assigned_after_s": "seconds from the report to the first page (null: nobody paged)",
    "acknowledged_after_s": "seconds from the report to the first acknowledgement (null: none)",
    "acknowledged_by": "who acknowledged first",
    "escalation_steps": "chain steps that paged someone",
    "exhausted": "whether the chain ran out",
    "declines": "pages declined",
    "pages": "everyone paged, in order",
    "phase": "where the response stood at the end: held, paging, acknowledged, exhausted, "
    "resolved, cancelled, closed",
}


def build(
    replay: Replay,
    *,
    policy: dict[str, Any],
    schools: Collection[str] | None = None,
    include_incidents: bool = False,
    read_seconds: float = 0.0,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The result document: overall, per school, per responder (and per incident if asked)."""
    shown = [
        i for i in replay.incidents.values() if schools is None or i.record.school_id in schools
    ]
    pairs = [(i, _outcomes(i)) for i in shown]
    by_school: dict[str, list[tuple[IncidentReplay, tuple[Outcome, Outcome]]]] = defaultdict(list)
    for incident, outcomes in pairs:
        by_school[incident.record.school_id].append((incident, outcomes))
    replayed = len(replay.incidents)
    document: dict[str, Any] = {
        "kind": KIND,
        "version": VERSION,
        "generated_at": generated_at.isoformat() if generated_at else None,
        "policy": policy,
        "period": {
            "since": replay.since.isoformat() if replay.since else None,
            "until": replay.until.isoformat() if replay.until else None,
            "record_ends": replay.end.isoformat() if replay.end else None,
        },
        "schools": sorted(schools) if schools is not None else None,
        "actual_policies": dict(
            sorted(Counter(i.record.opened.policy.get("version") for i in shown).items())
        ),
        "model": {
            "seed": replay.seed,
            "responders": MODEL,
            "deadlines": "a deadline fires when it falls due; where the record shows the live "
            "ticker firing (or being overtaken at) that very deadline, at the recorded instant",
            "roster": "each decision uses the roster as recorded by then (later corrections "
            "are not seen), and every open dispatch in the district for the loads",
        },
        "sides": {
            "actual": "what the record says happened (it stops where the record stops)",
            "whatif": "the replay under the policy, played out to the end",
        },
        "metrics": [m.as_record() for m in METRICS],
        "outcome_fields": OUTCOME_FIELDS,
        "overall": _compare(pairs),
        "by_school": [
            {"school_id": school, **_compare(rows)} for school, rows in sorted(by_school.items())
        ],
        "responders": _responders(pairs),
        "replay": {
            "incidents": replayed,
            "read_seconds": round(read_seconds, 3),
            "replay_seconds": round(replay.seconds, 3),
            "incidents_per_minute": round(replayed / replay.seconds * 60)
            if replay.seconds > 0
            else None,
        },
    }
    if include_incidents:
        document["incidents"] = [_incident(i, o) for i, o in pairs]
    return document


def _outcomes(incident: IncidentReplay) -> tuple[Outcome, Outcome]:
    reported = incident.record.reported_at
    return outcome(incident.record.recorded_events, reported), outcome(incident.events, reported)


def _compare(rows: list[tuple[IncidentReplay, tuple[Outcome, Outcome]]]) -> dict[str, Any]:
    actual = [o[0] for _, o in rows]
    whatif = [o[1] for _, o in rows]
    universe = set(pages_per_responder(actual)) | set(pages_per_responder(whatif))
    return {
        "actual": {**summary(actual, universe), "modelled": 0},
        "whatif": {**summary(whatif, universe), "modelled": sum(bool(i.modelled) for i, _ in rows)},
    }


def _responders(rows: list[tuple[IncidentReplay, tuple[Outcome, Outcome]]]) -> list[Any]:
    actual = pages_per_responder(o[0] for _, o in rows)
    whatif = pages_per_responder(o[1] for _, o in rows)
    return [
        {"responder_id": r, "actual_pages": actual.get(r, 0), "whatif_pages": whatif.get(r, 0)}
        for r in sorted(actual.keys() | whatif.keys())
    ]


def _incident(incident: IncidentReplay, outcomes: tuple[Outcome, Outcome]) -> dict[str, Any]:
    record = incident.record
    return {
        "incident_id": str(record.incident_id),
        "school_id": record.school_id,
        "risk": record.opened.risk,
        "reported_at": record.reported_at.isoformat(),
        "pinned_policy": record.opened.policy.get("version"),
        "actual": outcomes[0].as_record(),
        "whatif": outcomes[1].as_record(),
        "modelled": bool(incident.modelled),
        "modelled_why": list(incident.modelled),
    }


# -- the table ---------------------------------------------------------------------------------
ROWS = (
    "incidents",
    "assigned",
    "time_to_assign_p50_s",
    "time_to_assign_p90_s",
    "acknowledged",
    "time_to_ack_p50_s",
    "time_to_ack_p90_s",
    "escalation_steps",
    "exhausted",
    "declines",
    "pages",
    "busiest_share",
    "pages_cv",
    "modelled",
)


def table(document: dict[str, Any]) -> str:
    """Overall and per-school figures side by side, then each responder's pages."""
    labels = {m["key"]: m["label"] for m in document["metrics"]}
    units = {m["key"]: m["unit"] for m in document["metrics"]}
    policy = document["policy"]
    period = document["period"]
    lines = [
        f"What-if: policy {policy.get('version')} against the record, "
        f"{period['since'] or 'the beginning'} .. {period['until'] or 'the end'}"
        + (f", schools {', '.join(document['schools'])}" if document["schools"] else ""),
        "",
    ]
    head = f"{'':<12} {'':<26} {'actual':>10} {'what-if':>10} {'change':>10}"
    lines += [head, "-" * len(head)]
    scopes = [("overall", document["overall"])] + [
        (s["school_id"], s) for s in document["by_school"]
    ]
    for scope, figures in scopes:
        for n, key in enumerate(ROWS):
            was, now = figures["actual"].get(key), figures["whatif"].get(key)
            if key == "modelled" and not now:
                continue
            change = "" if key == "modelled" else _change(was, now, units[key])
            lines.append(
                f"{scope if n == 0 else '':<12} {labels[key]:<26} {_cell(was, units[key]):>10} "
                f"{_cell(now, units[key]):>10} {change:>10}"
            )
        lines.append("")
    lines.append(f"{'responder':<14} {'pages':>8} {'what-if':>8} {'change':>8}")
    for row in document["responders"]:
        was, now = row["actual_pages"], row["whatif_pages"]
        change = _change(was, now, "count")
        lines.append(f"{row['responder_id']:<14} {was:>8} {now:>8} {change:>8}")
    run = document["replay"]
    lines += [
        "",
        f"{run['incidents']} incidents replayed district-wide in {run['replay_seconds']} s "
        f"({run['incidents_per_minute']} a minute); model seed {document['model']['seed']}",
    ]
    return "\n".join(lines)


def _cell(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value:.3f}"
    if unit == "s":
        return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _change(was: Any, now: Any, unit: str) -> str:
    numbers = int | float
    if not isinstance(was, numbers) or not isinstance(now, numbers) or unit == "responder":
        return ""
    delta = _cell(now - was, unit)
    if delta.lstrip("-").strip("0.,") == "":
        return "="
    return delta if delta.startswith("-") else f"+{delta}"
