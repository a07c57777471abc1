"""My dispatches: a responder's pages, live, with one tap to acknowledge.

The list comes from dispatch's ``list_dispatches`` for the signed-in person
(dispatch refuses anyone else's), with the risk, categories and location from
the console's read of the streams, so a glance at a phone reads no student
record.  Opening one incident shows the minimum student details, through
intake's audited ``show_incident``; a responder who was not dispatched to it
gets dispatch's refusal, which dispatch audits, as a 403 page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from events.subjects import DISPATCH, FOLLOWUP, INTAKE
from plumbing.access.auth import Role
from services.console.guards import read_form
from services.console.web import Visit, from_reply, page

PAGED = frozenset({Role.RESPONDER, Role.SUPERVISOR, Role.ADMIN})
ACTIVE = ("assigned", "acknowledged", "en_route", "with_student", "stabilized", "handed_off")
#: what a responder may report next, from each state (field statuses only move forward)
NEXT = {
    "acknowledged": ["en_route", "with_student"],
    "en_route": ["with_student"],
    "with_student": ["stabilized", "handed_off", "resolved"],
    "stabilized": ["handed_off", "resolved"],
    "handed_off": ["resolved"],
}
LABELS = {
    "en_route": "En route",
    "with_student": "With the student",
    "stabilized": "Stabilized",
    "handed_off": "Handed off",
    "resolved": "Resolved",
}


async def _mine(visit: Visit) -> dict[str, Any]:
    me = visit.person.person_id
    reply = await visit.call(DISPATCH, "list_dispatches", {"responder_id": me})
    rows = list(reply.body) if reply.ok and isinstance(reply.body, list) else []
    board = visit.console.feed.board
    for row in rows:
        known = board.rows.get(row["incident_id"])
        row["risk"] = known.risk if known else ""
        row["categories"] = list(known.categories) if known else []
        row["location"] = known.location if known else ""
    active = [r for r in rows if r["state"] in ACTIVE]
    active.sort(key=lambda r: (r["state"] != "assigned", r.get("ack_deadline") or ""))
    plans = await visit.call(FOLLOWUP, "list_plans", {"owner_id": me})
    soon = datetime.now(UTC) + timedelta(days=1)
    due: list[dict[str, Any]] = []
    referrals: list[dict[str, Any]] = []
    for plan in plans.body if plans.ok and isinstance(plans.body, list) else []:
        for checkin in plan.get("checkins", []):
            when = datetime.fromisoformat(checkin["due_at"]) if checkin.get("due_at") else None
            if checkin.get("state") in ("due", "overdue") or (
                checkin.get("state") == "scheduled" and when is not None and when <= soon
            ):
                due.append({**checkin, "plan_id": plan["plan_id"]})
        for referral in plan.get("referrals", []):
            if referral.get("state") not in ("closed", "attended", "not_attended"):
                referrals.append({**referral, "plan_id": plan["plan_id"]})
    return {
        "active": active,
        "unavailable": None if reply.ok else reply.error,
        "checkins": due,
        "referrals": referrals,
        "next": NEXT,
        "labels": LABELS,
    }


@page(*PAGED, what="dispatches")
async def show(request: Request, visit: Visit) -> Response:
    feed = visit.console.feed
    return visit.render("dispatches.html", **await _mine(visit), since=feed.resume_id())


@page(*PAGED, what="dispatches")
async def live(request: Request, visit: Visit) -> Response:
    return visit.render("dispatches_list.html", **await _mine(visit))


async def _act(visit: Visit, operation: str, body: dict[str, Any]) -> Response:
    body["responder_id"] = visit.person.person_id
    reply = await visit.call(DISPATCH, operation, body)
    if reply.ok:
        return RedirectResponse("/dispatches", 303)
    if reply.status == 409:
        return visit.render("problem.html", 409, title="Already taken", message=reply.error)
    return from_reply(visit, reply)


@page(*PAGED, what="dispatches")
async def acknowledge(request: Request, visit: Visit) -> Response:
    return await _act(
        visit, "acknowledge_dispatch", {"dispatch_id": request.path_params["dispatch_id"]}
    )


@page(*PAGED, what="dispatches")
async def decline(request: Request, visit: Visit) -> Response:
    form = await read_form(request)
    reason = str(form.get("reason") or "").strip()
    return await _act(
        visit,
        "decline_dispatch",
        {"dispatch_id": request.path_params["dispatch_id"], "reason": reason},
    )


@page(*PAGED, what="dispatches")
async def status(request: Request, visit: Visit) -> Response:
    form = await read_form(request)
    body = {"dispatch_id": request.path_params["dispatch_id"], "state": str(form.get("state"))}
    if form.get("to"):
        body["to"] = str(form.get("to"))
    return await _act(visit, "update_dispatch_status", body)


@page(*PAGED, what="dispatches")
async def incident(request: Request, visit: Visit) -> Response:
    """One dispatched incident with the minimum student details (both reads audited)."""
    incident_id = request.path_params["incident_id"]
    response = await visit.call(DISPATCH, "show_response", {"incident_id": incident_id})
    if not response.ok:
        return from_reply(visit, response)
    mine = [d for d in response.body["dispatches"] if d["responder_id"] == visit.person.person_id]
    if not mine and visit.person.role is Role.RESPONDER:
        return await visit.refuse(
            "console:dispatch", "this incident was not dispatched to you", incident_id
        )
    shown = await visit.call(INTAKE, "show_incident", {"incident_id": incident_id})
    if not shown.ok:
        return from_reply(visit, shown)
    return visit.render(
        "respond.html",
        incident=shown.body,
        response=response.body,
        dispatch=mine[-1] if mine else None,
        next=NEXT,
        labels=LABELS,
    )


routes = [
    Route("/dispatches", show, methods=["GET"]),
    Route("/dispatches/live", live, methods=["GET"]),
    Route("/dispatches/{dispatch_id}/ack", acknowledge, methods=["POST"]),
    Route("/dispatches/{dispatch_id}/decline", decline, methods=["POST"]),
    Route("/dispatches/{dispatch_id}/status", status, methods=["POST"]),
    Route("/respond/{incident_id}", incident, methods=["GET"]),
]
