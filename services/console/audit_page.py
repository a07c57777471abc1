"""Audit (compliance): the audit history, the record of disclosures, chain anchors, exports.

The history and the record of disclosures come from records (``list_audit``,
``show_disclosures``), which only compliance and administrators may call.
The chains' status shows each store's newest signed anchor from the integrity
stream: how far it reaches and how fresh it is.  Checking the signatures and
recomputing the chains needs the integrity key and the stores, which the
console deliberately does not hold: that is ``lantern audit verify``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from events.records import IntegrityCheckpointV1
from events.subjects import RECORDS, SERVICES
from plumbing.access.auth import Role
from services.console.web import Visit, from_reply, page

AUDITORS = frozenset({Role.COMPLIANCE, Role.ADMIN})
FILTERS = ("actor", "action", "student_ref", "incident_id", "school_id", "kind")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COLUMNS = [
    "at",
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
]


def query(request: Request, limit: int) -> dict[str, Any]:
    q: dict[str, Any] = {"limit": limit}
    for name in FILTERS:
        value = request.query_params.get(name, "").strip()
        if value:
            q[name] = value[:64]
    for name, suffix in (("since", "T00:00:00+00:00"), ("until", "T23:59:59+00:00")):
        value = request.query_params.get(name, "")
        if DAY.match(value):
            q[name] = value + suffix
    return q


async def anchors(visit: Visit) -> list[dict[str, Any]]:
    """Each store's newest checkpoint, as published (signatures are verify's job)."""
    gateway = visit.console.gateway
    if gateway is None:
        return []
    js = gateway.nc.jetstream()
    subjects = gateway.subjects
    now = datetime.now(UTC)
    out = []
    for store in (*SERVICES, RECORDS):
        try:
            msg = await js.get_last_msg(subjects.integrity_stream, subjects.checkpoint(store))
            point = msgspec.json.decode(msg.data or b"", type=IntegrityCheckpointV1)
        except Exception:  # noqa: BLE001 - no anchor yet, or not readable: say so
            out.append({"store": store, "anchored": False})
            continue
        out.append(
            {
                "store": store,
                "anchored": True,
                "position": point.position,
                "records": point.records,
                "at": point.at,
                "age_s": (now - point.at).total_seconds(),
            }
        )
    return out


@page(*AUDITORS, what="audit")
async def show(request: Request, visit: Visit) -> Response:
    q = query(request, 500)
    history = await visit.call(RECORDS, "list_audit", q, "compliance review")
    if history.status == 403:
        return from_reply(visit, history)
    student = request.query_params.get("student", "").strip()[:64]
    disclosures = None
    if student:
        reply = await visit.call(RECORDS, "show_disclosures", {"student_ref": student})
        disclosures = reply.body if reply.ok else {"error": reply.error}
    rows = list(history.body) if history.ok and isinstance(history.body, list) else []
    return visit.render(
        "audit.html",
        rows=list(reversed(rows)),
        error=None if history.ok else history.error,
        filters={k: request.query_params.get(k, "") for k in (*FILTERS, "since", "until")},
        student=student,
        disclosures=disclosures,
        anchors=await anchors(visit),
        export=str(request.url.query),
    )


@page(*AUDITORS, what="audit")
async def export(request: Request, visit: Visit) -> Response:
    fmt = request.path_params["fmt"]
    history = await visit.call(RECORDS, "list_audit", query(request, 1_000_000), "audit export")
    if not history.ok:
        return from_reply(visit, history)
    rows = list(history.body)
    if fmt == "ndjson":
        body = "".join(json.dumps(r, default=str) + "\n" for r in rows)
        media = "application/x-ndjson"
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        body, media = out.getvalue(), "text/csv"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="lantern-audit.{fmt}"'},
    )


routes = [
    Route("/audit", show, methods=["GET"]),
    Route("/audit/export.{fmt:str}", export, methods=["GET"]),
]
