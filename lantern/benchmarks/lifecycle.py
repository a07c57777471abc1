"""Full lifecycles sustained: report -> assign -> acknowledge -> with student -> resolve -> plan.

Against a running system (``lantern up --demo``), ``concurrency`` responders at
once each play one incident to its end and start the next: report it over HTTP
(intake), wait for dispatch's ``responder_assigned`` on NATS, acknowledge and move
the dispatch through en route, with student, stabilized and resolved over HTTP
(dispatch), then wait for follow-up's ``plan_opened`` on NATS.  The figure:
completed lifecycles per second, from the first report to the last plan opened.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

import httpx
import nats

from events.subjects import Subjects
from lantern.benchmarks.common import percentile, progress
from plumbing.messaging import natsurl

STATES = ("en_route", "with_student", "stabilized", "resolved")
SCHOOLS = ["maple-es", "cedar-ms", "birch-hs", "alder-hs", "willow-k8"]


class Arrivals:
    """Messages by key as they arrive on NATS; a waiter gets one that came before it asked."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, Any]] = {}
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def arrived(self, key: str, data: dict[str, Any]) -> None:
        self.seen[key] = data
        future = self.waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(data)

    async def wait(self, key: str, timeout: float) -> dict[str, Any]:
        if key in self.seen:
            return self.seen[key]
        future = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        return await asyncio.wait_for(future, timeout)


async def sustained(
    info: dict[str, Any], reporter: str, admin: str, count: int, concurrency: int
) -> dict[str, Any]:
    """Play ``count`` lifecycles, ``concurrency`` at a time; figures as a dict."""
    urls = info["services"]
    subjects = Subjects(str(info["prefix"]))
    assigned, planned = Arrivals(), Arrivals()
    nc = await nats.connect(str(info["nats_url"]), **natsurl.options(str(info["nats_url"])))

    async def on_assigned(msg: Any) -> None:
        data = json.loads(msg.data)
        assigned.arrived(str(data["incident_id"]), data)

    async def on_plan(msg: Any) -> None:
        data = json.loads(msg.data)
        planned.arrived(str(data["incident_id"]), data)

    await nc.subscribe(subjects.responder_assigned, cb=on_assigned)
    await nc.subscribe(subjects.plan_opened, cb=on_plan)
    durations: list[float] = []
    failures: dict[str, int] = {}
    run = uuid.uuid4().hex[:6]  # students of this run only: a repeated one would be linked
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    began = time.monotonic()
    last = began

    async with httpx.AsyncClient(
        timeout=30, limits=httpx.Limits(max_connections=concurrency * 2)
    ) as http:

        async def post(url: str, token: str, body: dict[str, Any]) -> httpx.Response:
            return await http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})

        async def one(n: int) -> None:
            nonlocal last
            started = time.monotonic()
            body = {
                "school_id": SCHOOLS[n % len(SCHOOLS)],
                "student_ref": f"stu-life-{run}-{n:06d}",
                "categories": ["acute_distress"],
                "risk": "moderate",
                "reporter_id": "staff-bench",
            }
            reply = await post(f"{urls['intake']}/incidents", reporter, body)
            if reply.status_code != 201:
                failures["report"] = failures.get("report", 0) + 1
                return
            incident = str(reply.json()["incident_id"])
            dispatch = await assigned.wait(incident, 60)
            path = f"{urls['dispatch']}/dispatches/{dispatch['dispatch_id']}"
            who = dispatch["responder_id"]
            ack = {"dispatch_id": dispatch["dispatch_id"], "responder_id": who}
            if (await post(f"{path}/ack", admin, ack)).status_code != 200:
                failures["ack"] = failures.get("ack", 0) + 1
                return
            for state in STATES:
                moved = await post(f"{path}/status", admin, {"responder_id": who, "state": state})
                if moved.status_code != 200:
                    failures[state] = failures.get(state, 0) + 1
                    return
            await planned.wait(incident, 60)
            last = time.monotonic()
            durations.append((last - started) * 1000)

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                try:
                    await one(n)
                except (TimeoutError, httpx.HTTPError, KeyError) as exc:
                    kind = type(exc).__name__
                    failures[kind] = failures.get(kind, 0) + 1
                done = len(durations) + sum(failures.values())
                if done % max(1, count // 20) == 0:
                    progress("lifecycles", done, count, began)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    await nc.close()
    print(file=sys.stderr)
    elapsed = last - began
    completed = len(durations)
    return {
        "lifecycles": count,
        "completed": completed,
        "failed": failures,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "per_s": round(completed / elapsed, 1) if elapsed > 0 and completed else 0.0,
        "lifecycle_ms_p50": round(percentile(durations, 50), 1),
        "lifecycle_ms_p99": round(percentile(durations, 99), 1),
    }
