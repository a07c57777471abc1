"""What the chaos suite shares: a fleet of service processes, a reporter that keeps at it, and
responders who carry incidents through to a plan, whatever is being killed meanwhile.

A reporter retries a refused or unanswered report with the same idempotency key (as the
console and the CLI do), so a report counts as *accepted* only once intake answered 201 or
200 for it: those are the reports the invariants say must never be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.harness import Harness, eventually
from tests.processes import Served, serve

#: Answers that mean "not now, try again": the service is restarting or its store is away.
RETRY_STATUS = frozenset({502, 503, 504})


@dataclass
class Fleet:
    """Service processes of one deployment; a service may run as several instances."""

    harness: Harness
    instances: dict[str, list[Served]] = field(default_factory=dict)
    kills: list[str] = field(default_factory=list)
    #: each service's own NATS URL (its user, every cluster node); the harness's when absent
    nats_urls: dict[str, str] = field(default_factory=dict)

    def start(self, service: str, count: int = 1) -> list[Served]:
        url = self.nats_urls.get(service, "")
        started = [
            serve(self.harness, service, f"{service}-{n}", url)
            for n in range(len(self.instances.get(service, [])), count)
        ]
        self.instances.setdefault(service, []).extend(started)
        return started

    async def ready(self) -> None:
        await asyncio.gather(*(s.ready(90) for s in self.all()))

    def all(self) -> list[Served]:
        return [s for group in self.instances.values() for s in group]

    def urls(self, service: str) -> list[str]:
        return [s.url for s in self.instances[service]]

    def kill_and_restart(self, victim: Served) -> None:
        """SIGKILL (no shutdown hook runs), then start it again on the same port."""
        victim.kill9()
        self.kills.append(victim.log.stem)
        victim.start()

    def stop(self) -> None:
        for served in self.all():
            served.stop()


async def healthy(served: Served) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{served.url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def storm(fleet: Fleet, kills: int, every_s: float, rng: random.Random) -> None:
    """``kills`` SIGKILLs, one every ``every_s`` seconds, each of a random instance that is up."""
    victims = fleet.all()
    while len(fleet.kills) < kills:
        await asyncio.sleep(every_s)
        up = [s for s in victims if await healthy(s)]
        if up:
            fleet.kill_and_restart(rng.choice(up))


@dataclass
class Client:
    """HTTP calls that go to any live instance of a service, and retry until one answers."""

    harness: Harness
    urls: dict[str, list[str]]
    patience_s: float = 120.0
    http: httpx.AsyncClient = field(
        default_factory=lambda: httpx.AsyncClient(
            timeout=10, limits=httpx.Limits(max_connections=400, max_keepalive_connections=50)
        )
    )
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    #: every "try again" or unanswered call: (service, status; 0 when nothing answered)
    refusals: list[tuple[str, int]] = field(default_factory=list)

    async def call(self, method: str, service: str, path: str, body: Any = None) -> tuple[int, Any]:
        """The first answer that is not "try again"; gives up after ``patience_s``."""
        deadline = time.monotonic() + self.patience_s
        urls = self.urls[service]
        while True:
            url = urls[next(self._turn) % len(urls)]
            try:
                response = await self.http.request(
                    method, f"{url}{path}", json=body, headers=self.harness.headers()
                )
                if response.status_code not in RETRY_STATUS:
                    return response.status_code, response.json()
                self.refusals.append((service, response.status_code))
            except httpx.HTTPError:
                self.refusals.append((service, 0))
            if time.monotonic() > deadline:
                raise AssertionError(f"{service} did not answer {method} {path} in time")
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        await self.http.aclose()


async def report(client: Client, n: int, accepted: list[str], risk: str = "moderate") -> str:
    body = {
        "school_id": "s0",
        "student_ref": f"stu-{n}",
        "categories": ["acute_distress"],
        "risk": risk,
        "reporter_id": "t-1",
        "idempotency_key": f"chaos-{n}",
    }
    status, reply = await client.call("POST", "intake", "/incidents", body)
    assert status in (200, 201), (status, reply)  # never a 500, never a refusal that stays
    incident: str = reply["incident_id"]
    accepted.append(incident)
    return incident


async def report_many(
    client: Client, count: int, per_s: float, accepted: list[str], workers: int = 8
) -> None:
    """``count`` reports at about ``per_s`` a second, from ``workers`` reporters."""
    numbers = iter(range(count))

    async def reporter() -> None:
        for n in numbers:
            started = time.monotonic()
            await report(client, n, accepted)
            await asyncio.sleep(max(0.0, workers / per_s - (time.monotonic() - started)))

    await asyncio.gather(*(reporter() for _ in range(workers)))


async def current_dispatch(client: Client, incident: str) -> dict[str, Any] | None:
    status, body = await client.call("GET", "dispatch", f"/incidents/{incident}/response")
    if status != 200 or not body.get("current"):
        return None
    current: dict[str, Any] = body["current"]
    return current


LIFECYCLE = ("en_route", "with_student", "stabilized", "resolved")


async def see_through(client: Client, incident: str, timeout: float = 120) -> None:
    """A responder acknowledges and resolves an incident: follow-up then owes it one plan.

    A call repeated after an instance died may find its work already done (the first
    attempt was recorded, its answer lost): a 409 that says the dispatch is already in
    the state asked for is that, and anything else fails the test."""
    deadline = time.monotonic() + timeout
    dispatch = None
    while dispatch is None:
        assert time.monotonic() < deadline, f"{incident} never dispatched"
        dispatch = await current_dispatch(client, incident)
        if dispatch is None:
            await asyncio.sleep(0.5)
    path = f"/dispatches/{dispatch['dispatch_id']}"
    responder = dispatch["responder_id"]
    status, body = await client.call("POST", "dispatch", f"{path}/ack", {"responder_id": responder})
    assert status == 200, (incident, status, body)
    for state in LIFECYCLE:
        status, body = await client.call(
            "POST", "dispatch", f"{path}/status", {"responder_id": responder, "state": state}
        )
        if status == 409:
            now = await current_dispatch(client, incident)
            assert now is not None, (incident, state, body)
            assert now["state"] == state, (incident, state, body, now)
            continue
        assert status == 200, (incident, state, status, body)


async def all_dispatched(client: Client, accepted: list[str]) -> bool:
    status, rows = await client.call("GET", "dispatch", "/dispatches")
    return status == 200 and {r["incident_id"] for r in rows} >= set(accepted)


async def dispatched_or_explained(
    fleet: Fleet, client: Client, accepted: list[str], timeout: float
) -> None:
    """Wait until every accepted report is dispatched; if not, fail with every instance's
    readiness (what it holds, what it waits for) and how many are missing."""
    try:
        await eventually(lambda: all_dispatched(client, accepted), timeout, interval=1)
    except AssertionError:
        _, rows = await client.call("GET", "dispatch", "/dispatches")
        missing = set(accepted) - {r["incident_id"] for r in rows}
        states = {}
        for served in fleet.all():
            try:
                states[served.log.stem] = await served.readyz()
            except httpx.HTTPError as exc:
                states[served.log.stem] = {"unreachable": repr(exc)}
        raise AssertionError(f"{len(missing)} not dispatched; readiness: {states}") from None


async def plans_open(client: Client, incidents: set[str]) -> bool:
    for incident in incidents:
        status, plans = await client.call("GET", "followup", f"/plans?incident_id={incident}")
        if status != 200 or not plans:
            return False
    return True


@contextlib.asynccontextmanager
async def timed(figures: dict[str, float], name: str) -> Any:
    started = time.monotonic()
    yield
    figures[name] = round(time.monotonic() - started, 1)
