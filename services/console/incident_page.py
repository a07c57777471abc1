"""The incident page: the merged timeline, a replay of its state, and response measures.

Everything comes from records (``show_timeline``, ``replay_incident``,
``show_response_measures``) and intake (``show_incident``), as the signed-in
person: each service decides whether they may look, and audits the look.
The replay shows the state after any step; when a correction exists, "as
known then" (what had been recorded by that step) and "as true then" (what is
now known to have been true at that instant, later corrections applied from
the time they took effect) side by side.
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


async def replay_view(visit: Visit, incident_id: str, request: Request) -> dict[str, Any] | Any:
    """The state after the chosen step as recorded then, and, when a correction exists, what
    is now known to have been true at that same instant (records' ``as_of`` view)."""
    known = await visit.call(RECORDS, "replay_incident", {"incident_id": incident_id})
    if not known.ok:
        return known
    steps = known.body.get("steps", [])
    step = _step(request, len(steps))
    entry = steps[step - 1]["entry"] if step else None
    corrected = any(s["entry"]["type"] == "incident_corrected" for s in steps)
    true_state = None
    if corrected and entry is not None:
        then = await visit.call(
            RECORDS, "show_timeline", {"incident_id": incident_id, "as_of": entry["at"]}
        )
        true_state = then.body.get("true_state") if then.ok else None
    return {
        "incident_id": incident_id,
        "steps": steps,
        "step": step,
        "entry": entry,
        "known": _state_at(known.body, step),
        "true_state": true_state,
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
    replay = await replay_view(visit, incident_id, request)
    if not isinstance(replay, dict):
        return from_reply(visit, replay)
    measures = await visit.call(RECORDS, "show_response_measures", {"incident_id": incident_id})
    return visit.render(
        "incident.html",
        incident=incident.body,
        entries=timeline.body["entries"],
        measures=(measures.body.get("incidents") or [None])[0] if measures.ok else None,
        **replay,
    )


@page(what="incident")
async def replay_panel(request: Request, visit: Visit) -> Response:
    """The replay panel alone, for the slider and step buttons (no page reload)."""
    replay = await replay_view(visit, request.path_params["incident_id"], request)
    if not isinstance(replay, dict):
        return from_reply(visit, replay)
    return visit.render("replay.html", **replay)


routes = [
    Route("/incidents/{incident_id}", show, methods=["GET"]),
    Route("/incidents/{incident_id}/replay", replay_panel, methods=["GET"]),
]
