"""A large history, then a restart: memory per service, time to ready, a read model rebuilt.

1. N reports go through the real pipeline (stored at intake by application
   calls, published by intake's relay, decided by dispatch, published by its
   relay, filed by records): about ten events per incident across the stores;
2. every service is started as its own process on that history
   (``lantern serve``); figures: seconds from start until every ``/readyz`` is
   200, then until a new report is assigned; each process's resident memory;
3. dispatch's board is rebuilt from scratch (its projection forgotten) and
   timed, beside the raw rate of reading and decoding notifications.

    python -m lantern.benchmarks.scale [--incidents 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from events.subjects import Subjects
from lantern import natsserver
from lantern.benchmarks import raw
from lantern.benchmarks.common import write
from lantern.benchmarks.drain import (
    caught_up,
    consumable,
    drain,
    fill_intake,
    run_until,
    seed_roster,
    settings_for,
)
from lantern.services import SERVICES, builder
from plumbing.access import keys, trust
from plumbing.messaging.host import connect
from plumbing.messaging.streams import provision


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def history(workdir: Path, nats_url: str, incidents: int) -> dict[str, Any]:
    began = time.monotonic()
    intake = settings_for("intake", workdir, nats_url, "sqlite", "")
    dispatch = settings_for("dispatch", workdir, nats_url, "sqlite", "")
    records = settings_for("records", workdir, nats_url, "sqlite", "")
    fill_intake(intake, incidents)
    seed_roster(dispatch)
    publishing = builder("intake")(intake)
    await run_until(publishing, lambda: caught_up(publishing), 1800)
    await drain(builder("dispatch")(dispatch), incidents, "dispatch")
    publishing = builder("dispatch")(dispatch)
    await run_until(publishing, lambda: caught_up(publishing), 1800)
    subjects = Subjects("bench")
    total = sum([await consumable(nats_url, subjects, s) for s in ("intake", "dispatch")])
    await drain(builder("records")(records), total, "records")
    events = 0
    for service in ("intake", "dispatch", "records"):
        app: Any = builder(service)(settings_for(service, workdir, nats_url, "sqlite", "")).app
        events += app.max_position()
        app.close()
    return {
        "incidents": incidents,
        "events_stored": events,
        "seconds": round(time.monotonic() - began),
    }


def start(
    services: list[str], workdir: Path, nats_url: str
) -> dict[str, tuple[subprocess.Popen[bytes], str]]:
    """``lantern serve`` each service as its own process on ``workdir``'s stores."""
    env = {
        **os.environ,
        "LANTERN_NATS_URL": nats_url,
        "LANTERN_PREFIX": "bench",
        "LANTERN_DATA_DIR": str(workdir),
        "LANTERN_DEV_MODE": "1",  # a throw-away benchmark deployment: keys under workdir
        "LANTERN_JWKS": str(keys.dev_keys(workdir)[1]),  # the public half only, as in production
        "LANTERN_LOG_LEVEL": "WARNING",
    }
    running = {}
    for service in services:
        port = natsserver.free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "lantern.cli", "serve", service, "--http-port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(workdir / f"{service}.log").open("ab"),
        )
        running[service] = (proc, f"http://127.0.0.1:{port}")
    return running


def start_all(workdir: Path, nats_url: str) -> dict[str, tuple[subprocess.Popen[bytes], str]]:
    return start([s for s in SERVICES if s != "console"], workdir, nats_url)


async def until_ready(
    http: httpx.AsyncClient, running: dict[str, tuple[subprocess.Popen[bytes], str]], began: float
) -> float:
    """Seconds from ``began`` (monotonic) until every ``/readyz`` answers 200."""
    pending = set(running)
    while pending and time.monotonic() - began < 300:
        for service in list(pending):
            if running[service][0].poll() is not None:
                raise RuntimeError(f"{service} exited while starting; see its log")
            try:
                if (await http.get(f"{running[service][1]}/readyz")).status_code == 200:
                    pending.discard(service)
            except httpx.HTTPError:
                pass
        await asyncio.sleep(0.05)
    if pending:
        raise RuntimeError(f"not ready after 300 s: {sorted(pending)}")
    return time.monotonic() - began


async def restart_one(service: str, workdir: Path, nats_url: str) -> dict[str, Any]:
    """One service started on its stored history: seconds to ready, then its resident memory."""
    began = time.monotonic()
    running = start([service], workdir, nats_url)
    proc = running[service][0]
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            ready = await until_ready(http, running, began)
        await asyncio.sleep(2)  # settle, then measure memory
        return {"restart_to_ready_s": round(ready, 2), "rss_mb": round(rss_mb(proc.pid), 1)}
    finally:
        proc.terminate()
        proc.wait(60)


async def restart(workdir: Path, nats_url: str) -> dict[str, Any]:
    began = time.monotonic()
    running = start_all(workdir, nats_url)
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            ready = await until_ready(http, running, began)
            token = trust.dev_issuer(workdir).issue(subject="staff-bench", role="reporter")
            headers = {"Authorization": f"Bearer {token}"}
            sent = time.monotonic()
            reply = await http.post(
                f"{running['intake'][1]}/incidents",
                headers=headers,
                json={
                    "school_id": "s0",
                    "student_ref": "stu-after-restart",
                    "categories": ["acute_distress"],
                    "risk": "high",
                    "reporter_id": "staff-bench",
                },
            )
            incident = reply.json()["incident_id"]
            admin = trust.dev_issuer(workdir).issue(subject="bench", role="admin")
            assigned = None
            while time.monotonic() - sent < 60:
                found = await http.get(
                    f"{running['dispatch'][1]}/incidents/{incident}/response",
                    headers={"Authorization": f"Bearer {admin}"},
                )
                if found.status_code == 200 and found.json().get("current"):
                    assigned = time.monotonic() - sent
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(2)  # settle, then measure memory
            memory = {s: round(rss_mb(p.pid), 1) for s, (p, _) in running.items()}
        return {
            "restart_to_ready_s": round(ready, 2),
            "report_to_assigned_after_restart_s": round(assigned, 3) if assigned else None,
            "rss_mb": memory,
        }
    finally:
        for proc, _ in running.values():
            proc.terminate()
        for proc, _ in running.values():
            proc.wait(60)


def rebuild_view(app: Any, view: Any) -> dict[str, Any]:
    """A read model forgotten (its documents and position deleted) and folded again from event 1."""
    with app.tables.transaction() as cur:
        positions = app.tables.name("lantern_projections")
        cur.execute(f"DELETE FROM {positions} WHERE name = ?", (view.name,))  # noqa: S608
        for table in view.tables:
            cur.execute(f"DELETE FROM {app.tables.name(table.table)}")  # noqa: S608
    view.position = None
    events = app.max_position()
    began = time.monotonic()
    view.catch_up()
    view.flush()
    seconds = time.monotonic() - began
    return {
        "rebuild_view": f"{app.name}.{view.name}",
        "rebuild_events": events,
        "rebuild_seconds": round(seconds, 2),
        "rebuild_events_per_s": round(events / seconds, 1),
    }


def rebuild(workdir: Path, nats_url: str) -> dict[str, Any]:
    """Dispatch's board, forgotten and folded again from the first event."""
    app: Any = builder("dispatch")(settings_for("dispatch", workdir, nats_url, "sqlite", "")).app
    try:
        return rebuild_view(app, app.board)
    finally:
        app.close()


async def main_async(incidents: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lantern-scale-"))
    port = natsserver.free_port()
    server = natsserver.start(port=port, store_dir=workdir / "js", log_file=workdir / "nats.log")
    nats_url = natsserver.url_for(port)
    try:
        nc = await connect(nats_url)
        await provision(nc.jetstream(), Subjects("bench"))
        await nc.close()
        made = await history(workdir, nats_url, incidents)
        print(f"history: {made}", file=sys.stderr)
        restarted = await restart(workdir, nats_url)
        rebuilt = rebuild(workdir, nats_url)
        read_rate = raw.read_per_s()
        return {
            **made,
            **restarted,
            **rebuilt,
            "raw_read_per_s": round(read_rate, 1),
            "rebuild_to_raw_read": round(rebuilt["rebuild_events_per_s"] / read_rate, 2),
            "targets": {
                "restart_to_ready_s": 5,
                "report_to_assigned_after_restart_s": 2,
                "rss_mb_per_service": 200,
                "rebuild_to_raw_read": 0.5,
            },
        }
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    args = parser.parse_args()
    from plumbing import logs

    logs.configure("bench", json=True, level="WARNING")
    write("scale", asyncio.run(main_async(args.incidents)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
