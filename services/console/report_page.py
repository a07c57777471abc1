"""The Report page: a staff member reports a student in distress, on a phone, in seconds.

The form works without script.  With script, a submit goes as JSON, and a
report typed while the connection is down is kept on the device
(``localStorage``) and sent when it returns (``static/report.js``).  Every form
carries an idempotency key chosen when it was shown, so a retried or replayed
submit is the same report to intake, never a second one.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.subjects import INTAKE
from plumbing.access.auth import Role
from services.console.guards import read_form
from services.console.web import Visit, page, wants_json

CATEGORIES = [
    ("suicidal_ideation", "Suicidal thoughts"),
    ("self_harm", "Self-harm"),
    ("harm_to_others", "Harm to others"),
    ("abuse_disclosure", "Abuse disclosed"),
    ("acute_distress", "Acute distress"),
    ("substance_use", "Substance use"),
    ("grief_trauma", "Grief or trauma"),
    ("other", "Other"),
]
RISKS = ["low", "moderate", "high", "imminent"]
DANGERS = [
    ("", "No immediate danger"),
    ("weapon", "Weapon"),
    ("medical_emergency", "Medical emergency"),
    ("attempt_in_progress", "Attempt in progress"),
]
LANGUAGES = [
    ("", "English is fine"),
    ("es", "Spanish"),
    ("vi", "Vietnamese"),
    ("zh", "Chinese"),
    ("ar", "Arabic"),
]
SCREENER = [
    ("q1", "Wished to be dead or to go to sleep and not wake up?"),
    ("q2", "Had thoughts of killing themselves?"),
    ("q3", "Thought about how they might do it?"),
    ("q4", "Had some intention of acting on these thoughts?"),
    ("q5", "Worked out details of a plan, with intent to carry it out?"),
    ("q6", "Ever done, started or prepared anything to end their life?"),
    ("q6_past_3_months", "If so: within the past 3 months?"),
]
REPORTERS = frozenset({Role.REPORTER, Role.RESPONDER, Role.SUPERVISOR, Role.ADMIN})


def command_from(form: dict[str, Any], reporter_id: str) -> dict[str, Any]:
    """The report_incident body from the form's fields (validation is intake's)."""

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    categories = form.get("categories") or []
    body: dict[str, Any] = {
        "school_id": text("school_id"),
        "student_ref": text("student_ref"),
        "categories": categories if isinstance(categories, list) else [categories],
        "reporter_id": reporter_id,
        "idempotency_key": text("idempotency_key")[:128],
    }
    for name in ("location", "note", "risk_override_reason", "language"):
        if text(name):
            body[name] = text(name)
    if text("risk"):
        body["risk"] = text("risk")
    if text("immediate_danger"):
        body["immediate_danger"] = text("immediate_danger")
    answers = {q: text(q) == "yes" for q, _ in SCREENER if text(q) in ("yes", "no")}
    if answers:  # any answer means the screener was used; intake checks it is complete
        if "q2" in answers and not answers["q2"]:
            for skipped in ("q3", "q4", "q5"):
                answers.pop(skipped, None)
        if not answers.get("q6"):
            answers.pop("q6_past_3_months", None)
        body["screener"] = answers
    return body


def field_of(error_field: str | None) -> str:
    """``categories[0]`` -> ``categories``; ``screener.q1`` -> ``screener``."""
    if not error_field:
        return ""
    return error_field.split("[")[0].split(".")[0]


async def _form_data(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        data = await request.json()
        return data if isinstance(data, dict) else {}
    form = await read_form(request)
    out: dict[str, Any] = {k: v for k, v in form.items() if k != "categories"}
    out["categories"] = [str(v) for v in form.getlist("categories")]
    return out


async def _schools(visit: Visit) -> list[dict[str, Any]]:
    reply = await visit.call(INTAKE, "list_schools", {})
    return list(reply.body) if reply.ok and isinstance(reply.body, list) else []


def _form(visit: Visit, status: int = 200, **ctx: Any) -> Response:
    ctx.setdefault("values", {})
    ctx.setdefault("errors", {})
    return visit.render(
        "report.html",
        status,
        categories=CATEGORIES,
        risks=RISKS,
        dangers=DANGERS,
        languages=LANGUAGES,
        screener=SCREENER,
        key=ctx["values"].get("idempotency_key") or str(uuid.uuid4()),
        **ctx,
    )


@page(*REPORTERS, what="report")
async def show(request: Request, visit: Visit) -> Response:
    return _form(visit, schools=await _schools(visit))


@page(*REPORTERS, what="report")
async def submit(request: Request, visit: Visit) -> Response:
    values = await _form_data(request)
    body = command_from(values, visit.person.person_id)
    reply = await visit.call(INTAKE, "report_incident", body, "console report")
    if wants_json(request):
        return JSONResponse(reply.body, reply.status)
    if not reply.ok:
        errors = {field_of(reply.field) or "form": reply.error}
        return _form(
            visit, reply.status, schools=await _schools(visit), values=values, errors=errors
        )
    return visit.render("reported.html", reply.status, accepted=reply.body)


EMERGENCY = "Call 911 now; Lantern coordinates the school's response and does not replace 911/988."


@page(*REPORTERS, what="report")
async def done(request: Request, visit: Visit) -> Response:
    """The confirmation after a scripted submit (the same page as without script)."""
    q = request.query_params
    accepted = {
        "incident_id": q.get("incident", "")[:36],
        "duplicate": q.get("duplicate") == "1",
        "emergency_instruction": EMERGENCY if q.get("danger") == "1" else "",
    }
    return visit.render("reported.html", accepted=accepted)


routes = [
    Route("/report", show, methods=["GET"]),
    Route("/report", submit, methods=["POST"]),
    Route("/report/done", done, methods=["GET"]),
]
