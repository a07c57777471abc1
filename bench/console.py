"""The console's figures: the responder page's first load, and a board of 500 open incidents.

Runs a whole `lantern up --demo` (embedded nats-server, SQLite) and Debian's Chromium:

1. a responder with three dispatches opens "My dispatches" in a fresh browser (nothing
   cached): bytes transferred (compressed, as the browser counts them) and time to
   interactive (DOMContentLoaded: the deferred script has run; and the live connection open);
2. 500 open incidents are reported; then the board's first load, its fragment render time,
   and the time from an acknowledgement to the board showing it in the browser.

Writes bench/results/console.json.  Not a test: it measures (`make bench`).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from events.subjects import SERVICES, Subjects
from lantern.benchmarks.common import percentile, write
from plumbing.access import auth, trust

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OPEN = 500
SCHOOLS = ["maple-es", "cedar-ms", "birch-hs", "alder-hs", "willow-k8"]
LOAD = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  return {
    transfer: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
    decoded: nav.decodedBodySize + res.reduce((n, r) => n + r.decodedBodySize, 0),
    interactive_ms: nav.domContentLoadedEventEnd,
    requests: 1 + res.length,
  };
}"""


def up(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    log = (data_dir / "up.log").open("wb")
    argv = [sys.executable, "-m", "lantern.cli", "up", "--demo", "--data-dir", str(data_dir)]
    proc = subprocess.Popen(argv, stdout=log, stderr=log, env=dict(os.environ))
    deadline = time.monotonic() + 60
    while not (data_dir / "run.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit((data_dir / "up.log").read_text())
        time.sleep(0.1)
    return proc, json.loads((data_dir / "run.json").read_text())


def report(client: httpx.Client, intake: str, school: str, language: str = "") -> str:
    body: dict[str, Any] = {
        "school_id": school,
        "student_ref": f"stu-{uuid.uuid4().hex[:8]}",
        "categories": ["acute_distress"],
        "risk": "moderate",
        "reporter_id": "bench",
    }
    if language:
        body["language"] = language
    response = client.post(f"{intake}/incidents", json=body)
    response.raise_for_status()
    return str(response.json()["incident_id"])


def wait(probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


async def quiet(nats_url: str, prefix: str) -> None:
    """Wait until every durable consumer (dispatch, follow-up, records) has caught up, so the
    figures below measure the console, not the backlog of seeding 500 reports."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        subjects = Subjects(prefix)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            pending = 0
            for service in SERVICES:
                for consumer in await js.consumers_info(subjects.stream(service)):
                    if consumer.config.durable_name:
                        pending += (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
            if pending == 0:
                return
            await asyncio.sleep(1)
    finally:
        await nc.close()


def sign_in(page: Any, url: str, person: str) -> None:
    page.goto(f"{url}/signin")
    page.locator(f'form:has(input[name=person_id][value="{person}"]) button').click()
    page.wait_for_url(lambda u: "/signin" not in u)


def main() -> None:
    from playwright.sync_api import sync_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="lantern-bench-console-"))
    proc, info = up(data_dir)
    admin = trust.dev_issuer(data_dir).issue(subject="bench", role=auth.Role.ADMIN)
    services = info["services"]
    url = info["http_url"]
    figures: dict[str, Any] = {"benchmark": "console", "open_incidents": OPEN}
    try:
        with (
            httpx.Client(headers={"Authorization": f"Bearer {admin}"}, timeout=10) as api,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            # 1. a responder with three dispatches (Vietnamese speaker: the language rule)
            mine = [report(api, services["intake"], "birch-hs", "vi") for _ in range(3)]
            wait(
                lambda: (
                    len(api.get(f"{services['dispatch']}/dispatches?responder_id=sw-casey").json())
                    >= 3
                ),
                30,
                "three dispatches",
            )
            loads = []
            for _ in range(5):
                signing = browser.new_context()
                sign_in(signing.new_page(), url, "sw-casey")
                session = [
                    {"name": c["name"], "value": c["value"], "url": url}
                    for c in signing.cookies()
                    if c["name"] == "lantern_session"
                ]
                signing.close()
                # a fresh browser: nothing cached, only the session cookie
                context = browser.new_context(viewport={"width": 360, "height": 740})
                context.add_cookies(session)  # type: ignore[arg-type]
                page = context.new_page()
                started = time.monotonic()
                page.goto(f"{url}/dispatches")
                page.wait_for_selector("body[data-live=open]", state="attached")
                live_ms = (time.monotonic() - started) * 1000
                load = page.evaluate(LOAD)
                load["live_ms"] = round(live_ms, 1)
                loads.append(load)
                context.close()
            figures["responder_first_load"] = {
                "dispatches_shown": len(mine),
                "transfer_bytes": max(x["transfer"] for x in loads),
                "decoded_bytes": max(x["decoded"] for x in loads),
                "requests": loads[0]["requests"],
                "interactive_ms_p50": round(
                    percentile([x["interactive_ms"] for x in loads], 50), 1
                ),
                "interactive_ms_max": round(max(x["interactive_ms"] for x in loads), 1),
                "live_connection_ms_max": max(x["live_ms"] for x in loads),
                "runs": len(loads),
            }

            # 2. 500 open incidents on the board
            started = time.monotonic()
            ids = [report(api, services["intake"], SCHOOLS[n % 5]) for n in range(OPEN)]
            figures["seed_s"] = round(time.monotonic() - started, 1)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            board = context.new_page()
            sign_in(board, url, "sup-rowan")
            jar = {c["name"]: c["value"] for c in context.cookies()}
            web = httpx.Client(base_url=url, cookies=jar, timeout=10)

            def assigned() -> bool:
                return web.get("/board/live").text.count('data-state="assigned"') >= OPEN

            wait(assigned, 180, "500 assigned incidents on the board")
            with ThreadPoolExecutor(1) as pool:  # Playwright's loop owns this thread
                pool.submit(asyncio.run, quiet(info["nats_url"], info["prefix"])).result()
            figures["settled_s"] = round(time.monotonic() - started, 1)
            renders = []
            for _ in range(30):
                t = time.monotonic()
                html = web.get("/board/live", headers={"Accept-Encoding": "gzip"})
                renders.append((time.monotonic() - t) * 1000)
            gzip_bytes = html.num_bytes_downloaded
            started = time.monotonic()
            board.goto(f"{url}/board")
            board.wait_for_selector("body[data-live=open]", state="attached")
            first = board.evaluate(LOAD)
            figures["board_first_load"] = {
                "transfer_bytes": first["transfer"],
                "decoded_bytes": first["decoded"],
                "interactive_ms": round(first["interactive_ms"], 1),
                "live_connection_ms": round((time.monotonic() - started) * 1000, 1),
            }
            figures["board_fragment_ms"] = {
                "p50": round(percentile(renders, 50), 1),
                "p99": round(percentile(renders, 99), 1),
                "bytes_gzip": gzip_bytes,
                "bytes": len(html.content),
                "rows": html.text.count("data-incident="),
            }
            latencies = []
            for incident in ids[-10:]:
                current = api.get(f"{services['dispatch']}/incidents/{incident}/response").json()
                dispatch = current["current"]
                t = time.monotonic()
                api.post(
                    f"{services['dispatch']}/dispatches/{dispatch['dispatch_id']}/ack",
                    json={"responder_id": dispatch["responder_id"]},
                ).raise_for_status()
                board.locator(
                    f'tr[data-incident="{incident}"][data-state="acknowledged"]'
                ).wait_for(timeout=10_000)
                latencies.append((time.monotonic() - t) * 1000)
            figures["board_ack_to_browser_ms"] = {
                "p50": round(percentile(latencies, 50), 1),
                "max": round(max(latencies), 1),
                "samples": len(latencies),
            }
            web.close()
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    write("console", figures)


if __name__ == "__main__":
    main()
