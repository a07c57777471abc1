"""The command path: what one HTTP report costs intake, and how many it accepts per second.

Intake runs as its own process (``lantern serve intake``, SQLite, a wheel
nats-server so its relay publishes as in production).  A separate client process
sends N reports over HTTP from C concurrent connections.  Figures: accepted
reports per second (wall clock), and intake's CPU (user + system, read from
``/proc``) per report; beside them, measured in the same run, the raw
eventsourcing commit of one event per transaction on the same store.

    python -m lantern.benchmarks.command_path [--reports 5000] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from lantern import natsserver
from lantern.benchmarks.common import percentile, progress, write
from lantern.benchmarks.drain import raw_commit_per_s, settings_for
from plumbing.access import trust


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def send(url: str, reports: int, clients: int, token: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(reports):
        queue.put_nowait(n)
    began = time.monotonic()

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            n = queue.get_nowait()
            body = {
                "school_id": "s0",
                "student_ref": f"stu-{n:06d}",
                "categories": ["acute_distress"],
                "risk": "moderate",
                "reporter_id": "staff-bench",
            }
            started = time.perf_counter()
            reply = await http.post(f"{url}/incidents", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            if reply.status_code != 201:
                errors += 1
            if n % 500 == 0:
                progress("reports", reports - queue.qsize(), reports, began)

    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, headers=headers, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    elapsed = time.monotonic() - began
    progress("reports", reports, reports, began)
    return {
        "seconds": round(elapsed, 2),
        "accepted_per_s": round(reports / elapsed, 1),
        "errors": errors,
        "request_ms_p50": round(percentile(latencies, 50), 2),
        "request_ms_p99": round(percentile(latencies, 99), 2),
    }


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("intake did not become ready")


def run(reports: int, clients: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lantern-command-"))
    issuer = trust.dev_issuer(workdir)  # services find its JWKS under the data dir
    port = natsserver.free_port()
    server = natsserver.start(port=port, store_dir=workdir / "js", log_file=workdir / "nats.log")
    nats_url = natsserver.url_for(port)
    raw = raw_commit_per_s(settings_for("raw", workdir, nats_url, "sqlite", ""))
    http_port = natsserver.free_port()
    env = {
        **os.environ,
        "LANTERN_NATS_URL": nats_url,
        "LANTERN_PREFIX": "bench",
        "LANTERN_DATA_DIR": str(workdir),
        "LANTERN_DEV_MODE": "1",  # a throw-away benchmark deployment: keys under workdir
        "LANTERN_LOG_LEVEL": "WARNING",
    }
    intake = subprocess.Popen(
        [sys.executable, "-m", "lantern.cli", "serve", "intake", "--http-port", str(http_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "intake.log").open("wb"),
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        asyncio.run(wait_ready(url))
        admin = issuer.issue(subject="bench", role="admin")
        httpx.post(
            f"{url}/schools",
            json={"school_id": "s0", "name": "S0"},
            headers={"Authorization": f"Bearer {admin}"},
        ).raise_for_status()
        token = issuer.issue(subject="staff-bench", role="reporter", ttl=timedelta(hours=1))
        asyncio.run(send(url, 200, 8, token))  # warm up
        before = cpu_seconds(intake.pid)
        figures = asyncio.run(send(url, reports, clients, token))
        time.sleep(1.0)  # the relay publishes the tail (its cost belongs to the reports)
        cpu = cpu_seconds(intake.pid) - before
    finally:
        intake.terminate()
        intake.wait(30)
        server.terminate()
        server.wait(10)
    return {
        "store": "sqlite",
        "reports": reports,
        "clients": clients,
        "raw_commit_per_s": round(raw, 1),
        **figures,
        "intake_cpu_ms_per_report": round(cpu * 1000 / reports, 3),
        "targets": {"intake_cpu_ms_per_report": 1.0, "accepted_per_s": 1000},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    write("command_path", run(args.reports, args.clients))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
