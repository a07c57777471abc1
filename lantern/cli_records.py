"""``lantern`` sub-commands that look back: timeline, replay, measures, audit, disclosures.

``timeline --json`` prints ``{"incident_id", "entries": [...]}``; with
``--as-of`` it adds ``as_of``, ``state`` (the incident as the record stood
then: only what had been recorded by that instant) and ``true_state`` (what
is now known to have been true then: later corrections applied).  Each entry
has ``position, event_id, type, summary, service, at, effective_at,
recorded_at, actor, role, causation_id, correlation_id, kind, data``.

``audit verify`` reads every service's store directly (the auditor's view,
not the services' word) and the signed anchors (see ``lantern.verify_anchors``
for where from: never a NATS it was not pointed to or did not start itself);
exit 0 on intact history, 1 when a record is broken, 3 when the anchors or a
store cannot be read, within seconds (``--offline`` skips the anchors, and
then cannot detect a cut-off tail).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from events.records import ListAuditV1, ShowTimelineV1
from lantern import runfile
from lantern.cli_support import (
    EXIT_INPUT,
    EXIT_UNREACHABLE,
    AddCommand,
    CliError,
    call,
    emit,
    validated,
)
from lantern.render import local, progress, table
from lantern.services import SERVICES

RECORDS = "records"
AUDIT_COLUMNS = (
    "at",
    "audit_id",
    "service",
    "actor",
    "role",
    "action",
    "kind",
    "interface",
    "outcome",
    "status",
    "purpose",
    "incident_id",
    "student_ref",
    "school_id",
    "break_glass",
    "break_glass_reason",
    "count",
    "last_at",
    "event_id",
    "recorded_at",
    "causation_id",
    "correlation_id",
)


def _query(pairs: dict[str, Any]) -> str:
    kept = {k: v for k, v in pairs.items() if v not in (None, "", False)}
    return f"?{urlencode(kept)}" if kept else ""


# -- timeline and replay ------------------------------------------------------------------------
def cmd_timeline(args: argparse.Namespace) -> None:
    q = validated(
        {
            "incident_id": args.incident_id,
            **({"as_of": args.as_of} if args.as_of else {}),
            **({"position": args.position} if args.position is not None else {}),
            "access": args.access,
        },
        ShowTimelineV1,
    )
    params = {"as_of": args.as_of, "position": args.position, "access": "true" if q.access else ""}
    body = call(args, RECORDS, "GET", f"/incidents/{q.incident_id}/timeline{_query(params)}")
    emit(args, body, _human_timeline)


def _human_timeline(body: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [
        (
            str(e["position"]),
            local(e["at"]),
            e["service"],
            e["type"],
            f"{e['actor']} ({e['role']})" if e.get("role") else e["actor"],
            e["summary"],
        )
        for e in body["entries"]
    ]
    title = f"incident {body['incident_id']}"
    if body.get("as_of"):
        title += f" as of {body['as_of']}"
    out = [table(title, ("#", "at", "service", "type", "who", "what"), rows)]
    if body.get("state"):
        out.append(_state_lines("as known then", body["state"]))
    if body.get("true_state") and body["true_state"] != body.get("state"):
        out.append(_state_lines("as now known to have been true then", body["true_state"]))
    return "\n".join(out)


def _state_lines(label: str, state: dict[str, Any]) -> str:
    inc, d, f = state["incident"], state["dispatch"], state["followup"]
    return "\n".join(
        [
            f"state ({label}):",
            f"  incident  {inc['status']}  risk {inc['risk']}  {','.join(inc['categories'])}"
            f"  location {inc['location'] or '-'}",
            f"  dispatch  {d['state'] or '-'}  responder {d['responder_id'] or '-'}"
            f"  escalations {d['escalations']}",
            f"  follow-up plan {f['plan_id'] or '-'}  owner {f['owner_id'] or '-'}"
            f"  check-ins {len(f['checkins'])}  disclosures {f['disclosures']}",
        ]
    )


def cmd_replay(args: argparse.Namespace) -> None:
    body = call(
        args, RECORDS, "GET", f"/incidents/{args.incident_id}/replay{_query({'view': args.view})}"
    )

    def human(b: dict[str, Any]) -> str:
        return "\n\n".join(
            f"step {s['entry']['position']}: {s['entry']['at']} {s['entry']['summary']}\n"
            + _state_lines(b["view"], s["state"])
            for s in b["steps"]
        )

    emit(args, body, human)


def cmd_measures(args: argparse.Namespace) -> None:
    params = {
        "incident_id": args.incident,
        "school_id": args.school,
        "responder_id": args.responder,
        "period": args.period,
    }
    body = call(args, RECORDS, "GET", f"/measures{_query(params)}")
    emit(args, body, lambda b: json.dumps(b["summary"]["overall"], indent=2))


def cmd_disclosures(args: argparse.Namespace) -> None:
    body = call(args, RECORDS, "GET", f"/students/{args.student_ref}/disclosures")
    emit(args, body, _human_disclosures)


def _times(line: dict[str, Any]) -> str:
    """When, and for repeated reads how often until when ("09:20, 12x until 09:31")."""
    count = int(line.get("count") or 1)
    if count == 1:
        return local(line["at"])
    return f"{local(line['at'])}, {count}x until {local(line.get('last_at'))}"


def _threat(e: dict[str, Any]) -> str:
    return "; ".join(x for x in (e.get("threat"), ", ".join(e.get("recipients", []))) if x)


def _human_disclosures(b: dict[str, Any]) -> str:
    """The whole record, as the JSON has it: disclosures, requests, officials' reads, consents."""
    parts = [
        table(
            f"record of disclosures for {b['student_ref']} (34 CFR 99.32)",
            ("when", "kind", "party", "basis", "purpose", "threat / recipients", "missing"),
            [
                (
                    _times(e),
                    e["kind"],
                    e["party"],
                    e["legal_basis"],
                    e["purpose"],
                    "; ".join(
                        x for x in (e.get("threat"), ", ".join(e.get("recipients", []))) if x
                    ),
                    ", ".join(e.get("missing", [])),
                )
                for e in b["entries"]
            ],
            empty="no disclosures and no requests for access",
        ),
        table(
            "reads by school officials (no 99.32 entry required)",
            ("when", "who", "role", "interface", "incident", "outcome"),
            [
                (
                    _times(e),
                    e.get("by") or e["party"],
                    e.get("role", ""),
                    e.get("interface", ""),
                    e.get("incident_id") or "-",
                    e.get("outcome", ""),
                )
                for e in b.get("official_access", [])
            ],
            empty="none",
        ),
    ]
    consents = b.get("consents", [])
    if consents:
        parts.append(
            table(
                "consents",
                ("when", "status", "recipients", "purpose"),
                [
                    (
                        local(c.get("at")),
                        c.get("status", ""),
                        ", ".join(c.get("recipients", [])),
                        c.get("purpose", ""),
                    )
                    for c in consents
                ],
            )
        )
    return "\n\n".join(parts)


# -- audit -----------------------------------------------------------------------------------------
def cmd_audit_export(args: argparse.Namespace) -> None:
    pairs = {
        "since": args.since,
        "until": args.until,
        "school_id": args.school,
        "student_ref": args.student,
    }
    validated({k: v for k, v in pairs.items() if v}, ListAuditV1)
    rows = call(args, RECORDS, "GET", f"/audit{_query(pairs)}")
    with progress("audit entries exported", len(rows)) as written:
        if args.format == "ndjson":
            for row in rows:
                sys.stdout.write(json.dumps(row, sort_keys=True) + "\n")
                written.advance()
            return
        writer = csv.DictWriter(sys.stdout, fieldnames=AUDIT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in AUDIT_COLUMNS})
            written.advance()


def cmd_audit_verify(args: argparse.Namespace) -> None:
    from lantern import verify_anchors
    from plumbing.integrity.chain_store import chain_store_for
    from plumbing.integrity.chainer import integrity_key, verify_store
    from plumbing.integrity.verify import Checkpoint

    data_dir = Path(args.data_dir)
    settings = _store_settings(data_dir)
    key = integrity_key(next(iter(settings.values())).dev_mode)
    stores = {s: chain_store_for(cfg) for s, cfg in settings.items()}
    try:
        present = {s: st for s, st in stores.items() if st is not None and st.exists()}
    except Exception as exc:  # noqa: BLE001 - an unreachable store is one line, exit 3
        raise CliError(
            f"stores unreadable: {exc}".splitlines()[0], "store", EXIT_UNREACHABLE
        ) from None
    anchors: dict[str, Checkpoint] = {}
    anchor_error = ""
    where = "skipped (--offline)"
    if not args.offline:
        source = verify_anchors.source(data_dir, args.nats_url)
        prefix = os.environ.get("LANTERN_PREFIX") or _running(data_dir).get("prefix") or "lantern"
        try:
            anchors = verify_anchors.read(data_dir, source, prefix, list(present))
            where = f"checked, from {source.detail}"
        except verify_anchors.AnchorsUnreadable as exc:
            anchor_error = where = str(exc)
    verdicts = []
    for name, store in present.items():
        try:
            anchor = anchors.get(name)
            verdicts.append(
                verify_store(store, anchor, key, require_anchor=not (args.offline or anchor_error))
            )
        finally:
            store.close()
    report: dict[str, Any] = {
        "intact": all(v.intact for v in verdicts) and not anchor_error,
        "anchors": where,
        "stores": [
            {
                "store": v.store,
                "intact": v.intact,
                "records": v.records,
                "chained_to": v.chained_to,
                "anchored_to": v.anchored_to,
                "pending": v.pending,
                "breaks": [
                    {"store": b.store, "position": b.position, "kind": b.kind, "detail": b.detail}
                    for b in v.breaks
                ],
            }
            for v in verdicts
        ],
    }
    broken = sum(len(s["breaks"]) for s in report["stores"])
    if anchor_error and not broken:
        emit_if_json(args, report)
        raise CliError(anchor_error, "anchors", EXIT_UNREACHABLE)
    emit(args, report, _human_verify)
    if broken:
        raise CliError(f"{broken} broken record(s); history has been altered")


def emit_if_json(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """With --json the whole report still goes to stdout (the error line to stderr)."""
    if getattr(args, "json", False):
        emit(args, report)


def _store_settings(data_dir: Path) -> dict[str, Any]:
    """Each service's store settings: the environment's, else what ``up`` recorded here."""
    from lantern.stores import StoreChoice
    from plumbing.settings import Settings

    explicit = "LANTERN_STORE" in os.environ or "LANTERN_POSTGRES_DSN" in os.environ
    choice = (None if explicit else StoreChoice.load(data_dir)) or StoreChoice.from_env()
    return {
        s: Settings.from_env(
            s,
            data_dir=data_dir,
            store=choice.store,
            postgres_dsn=choice.postgres_dsn,
            postgres_schema=choice.postgres_schema,
            dev_mode=runfile.dev_mode(data_dir),
        )
        for s in SERVICES
    }


def _human_verify(report: dict[str, Any]) -> str:
    lines = []
    for s in report["stores"]:
        state = "intact" if s["intact"] else "BROKEN"
        lines.append(
            f"{s['store']:<10} {state}  {s['records']} records, chained to {s['chained_to']}, "
            f"anchored to {s['anchored_to']}, {s['pending']} pending"
        )
        lines.extend(
            f"  {b['store']} position {b['position']}: {b['kind']} ({b['detail']})"
            for b in s["breaks"]
        )
    lines.append(f"anchors: {report['anchors']}")
    return "\n".join(lines)


def _running(data_dir: Path) -> dict[str, Any]:
    try:
        return runfile.read(data_dir)
    except LookupError:
        return {}


# -- registration ----------------------------------------------------------------------------------
def register(add: AddCommand) -> None:
    timeline = add("timeline", cmd_timeline, "an incident's merged timeline (and state as of)")
    timeline.add_argument("incident_id")
    timeline.add_argument("--as-of", default=None, help="ISO 8601 instant with offset")
    timeline.add_argument("--position", type=int, default=None, help="state after N entries")
    timeline.add_argument("--access", action="store_true", help="also list audited reads")

    replay = add("replay", cmd_replay, "an incident step by step, with the state after each")
    replay.add_argument("incident_id")
    replay.add_argument("--view", choices=["known", "true"], default="known")

    measures = add("response-measures", cmd_measures, "response times and escalations")
    measures.add_argument("--incident", default=None)
    measures.add_argument("--school", default=None)
    measures.add_argument("--responder", default=None)
    measures.add_argument("--period", default=None, help="YYYY-MM")

    disclosures = add("disclosures", cmd_disclosures, "a student's record of disclosures")
    disclosures.add_argument("student_ref")

    audit = add("audit", _audit_usage, "audit history export and tamper verification")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="check every store's hash chain and anchors")
    verify.set_defaults(fn=cmd_audit_verify)
    verify.add_argument("--json", action="store_true", help="machine-readable report")
    verify.add_argument("--data-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    verify.add_argument(
        "--nats-url",
        default=None,
        help="read the anchors from this NATS (default: the running system's, else the "
        "data dir's own JetStream store; never a NATS it was not told of)",
    )
    verify.add_argument(
        "--offline",
        action="store_true",
        help="skip the anchors (then a cut-off tail cannot be detected)",
    )
    export = sub.add_parser("export", help="audit entries to stdout")
    export.set_defaults(fn=cmd_audit_export)
    export.add_argument("--format", choices=["csv", "ndjson"], required=True)
    export.add_argument("--since", default=None)
    export.add_argument("--until", default=None)
    export.add_argument("--school", default=None)
    export.add_argument("--student", default=None)
    export.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    export.add_argument("--data-dir", default=argparse.SUPPRESS)


def _audit_usage(args: argparse.Namespace) -> None:
    raise CliError("use `lantern audit verify` or `lantern audit export`", code=EXIT_INPUT)
