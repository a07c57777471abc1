"""The incident page: the merged timeline, a replay of its state, and response measures.

Everything comes from records (``show_timeline``, ``replay_incident``,
``show_response_measures``) and intake (``show_incident``), as the signed-in
person: each service decides whether they may look, and audits the look.
The replay shows the state after any step; when a correction exists, "as
known then" (what had been recorded by that step) and "as true then" (with
later corrections applied to the time they took effect) side by side.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from events.subjects import INTAKE, RECORDS
from services.console.web import Visit, from_reply, page

SECTIONS = ("incident", "dispatch", "followup")


def _step(request: Request, steps: int) -> int:
    raw = request.query_params.get("step", "")
    value = int(raw) if raw.isdigit() else steps
    return max(0, min(value, steps))


def _state_at(replay: dict[str, Any], step: int) -> dict[str, Any] | None:
    steps = replay.get("steps", [])
    if step == 0 or not steps:
        return None
    return dict(steps[step - 1]["state"])


async def _replays(visit: Visit, incident_id: str) -> tuple[Any, Any]:
    known = await visit.call(RECORDS, "replay_incident", {"incident_id": incident_id})
    true = await visit.call(
        RECORDS, "replay_incident", {"incident_id": incident_id, "view": "true"}
    )
    return known, true


def replay_view(known: dict[str, Any], true: dict[str, Any], step: int) -> dict[str, Any]:
    steps = known.get("steps", [])
    corrected = any(s["entry"]["type"] == "incident_corrected" for s in steps)
    return {
        "steps": steps,
        "step": step,
        "entry": steps[step - 1]["entry"] if step else None,
        "known": _state_at(known, step),
        "true": _state_at(true, step) if corrected else None,
        "corrected": corrected,
        "sections": SECTIONS,
    }


@page(what="incident")
async def show(request: Request, visit: Visit) -> Response:
    incident_id = request.path_params["incident_id"]
    timeline = await visit.call(RECORDS, "show_timeline", {"incident_id": incident_id})
    if not timeline.ok:
        return from_reply(visit, timeline)
    incident = await visit.call(INTAKE, "show_incident", {"incident_id": incident_id})
    if not incident.ok:
        return from_reply(visit, incident)
    known, true = await _replays(visit, incident_id)
    if not known.ok:
        return from_reply(visit, known)
    measures = await visit.call(RECORDS, "show_response_measures", {"incident_id": incident_id})
    step = _step(request, len(known.body.get("steps", [])))
    return visit.render(
        "incident.html",
        incident=incident.body,
        entries=timeline.body["entries"],
        measures=(measures.body.get("incidents") or [None])[0] if measures.ok else None,
        **replay_view(known.body, true.body if true.ok else {}, step),
    )


@page(what="incident")
async def replay(request: Request, visit: Visit) -> Response:
    """The replay panel alone, for the slider and step buttons (no page reload)."""
    incident_id = request.path_params["incident_id"]
    known, true = await _replays(visit, incident_id)
    if not known.ok:
        return from_reply(visit, known)
    step = _step(request, len(known.body.get("steps", [])))
    return visit.render(
        "replay.html",
        incident_id=incident_id,
        **replay_view(known.body, true.body if true.ok else {}, step),
    )


routes = [
    Route("/incidents/{incident_id}", show, methods=["GET"]),
    Route("/incidents/{incident_id}/replay", replay, methods=["GET"]),
]
