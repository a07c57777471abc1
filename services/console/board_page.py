"""The supervisor's board: every open incident of their schools, live.

Rendered from the console's read of the streams (``services.console.board``),
so 500 open incidents render in milliseconds and a change shows within a
second.  A supervisor sees their schools only (an administrator, every
school).  Reassigning a follow-up plan goes through follow-up's
``reassign_plan``, which checks and audits it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from events.subjects import FOLLOWUP
from plumbing.access.auth import Role
from services.console.board import RISK_ORDER, Row
from services.console.guards import read_form
from services.console.web import Visit, from_reply, page

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})


def board_view(visit: Visit) -> dict[str, Any]:
    person = visit.person
    schools = None if person.role is Role.ADMIN else person.schools
    rows = visit.console.feed.board.visible(schools)
    now = datetime.now(UTC)
    counts: Counter[tuple[str, str]] = Counter((r.school_id, r.risk) for r in rows)
    school_ids = sorted({r.school_id for r in rows} | set(schools or ()))
    return {
        "now": now,
        "rows": rows,
        "nobody": [r for r in rows if r.exhausted or r.no_eligible],
        "waiting": [r for r in rows if r.dispatch_state == "assigned"],
        "followups": [r for r in rows if r.overdue_checkins or r.stalled_referrals],
        "counts": counts,
        "schools": school_ids,
        "risks": sorted(RISK_ORDER, key=RISK_ORDER.__getitem__),
        "ready": visit.console.feed.ready,
        "left": lambda r: _left(r, now),
    }


def _left(row: Row, now: datetime) -> str:
    seconds = row.seconds_left(now)
    if seconds is None:
        return ""
    if seconds <= 0:
        return "overdue"
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


@page(*SUPERVISORS, what="board")
async def show(request: Request, visit: Visit) -> Response:
    return visit.render("board.html", **board_view(visit), since=visit.console.feed.resume_id())


@page(*SUPERVISORS, what="board")
async def live(request: Request, visit: Visit) -> Response:
    return visit.render("board_live.html", **board_view(visit))


@page(*SUPERVISORS, what="board")
async def reassign(request: Request, visit: Visit) -> Response:
    form = await read_form(request)
    body = {
        "plan_id": str(form.get("plan_id") or ""),
        "owner_id": str(form.get("owner_id") or "").strip(),
        "reason": str(form.get("reason") or "").strip(),
        "by": visit.person.person_id,
    }
    reply = await visit.call(FOLLOWUP, "reassign_plan", body)
    if not reply.ok:
        return from_reply(visit, reply)
    return RedirectResponse("/board", 303)


routes = [
    Route("/board", show, methods=["GET"]),
    Route("/board/live", live, methods=["GET"]),
    Route("/board/reassign", reassign, methods=["POST"]),
]
