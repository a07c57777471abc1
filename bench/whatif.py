"""What-if speed: incidents replayed per minute, read from an encrypted SQLite dispatch store.

Records a synthetic history through the real dispatch application (the
generated month of ``tests/dispatch/synthetic_month.py``, made longer) into a
SQLite file with the store cipher on, as production keeps it.  Then, timed:

1. reading the history back from the file (the offline reader: select, decrypt,
   decode, fold), as a what-if reads it;
2. replaying every incident under another policy and building the result
   document (what ``lantern whatif`` and ``POST /whatif`` do);
3. reading everything again (pages too), replaying every incident under the
   policies pinned at the time and checking every step against the record
   (the fidelity check, at scale).

The figure that matters is (2) plus (1): what a supervisor waits for.

    .venv/bin/python bench/whatif.py [--days 150] [--per-day 80] [--keep DIR]

``--keep DIR`` keeps the recorded store there, and reuses it when it is already
there (recording takes minutes; the timed part does not depend on it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lantern.benchmarks.common import write
from plumbing.settings import Settings
from plumbing.store.select import store_env
from services.dispatch.whatif import reading
from services.dispatch.whatif.fidelity import divergences
from services.dispatch.whatif.replay import replay
from services.dispatch.whatif.run import policy_from_toml, run
from tests.dispatch.synthetic_month import generate

WHATIF_POLICY = """
[dispatch]
version = "bench-shorter-deadlines"

[dispatch.ack_deadline_seconds]
imminent = 60
high = 120
moderate = 600
low = 1800

[dispatch.escalation]
repeat_limit = 2

[dispatch.school_hours]
timezone = "America/Chicago"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--per-day", type=int, default=80)
    parser.add_argument("--keep", default=None, help="keep (or reuse) the SQLite store in DIR")
    args = parser.parse_args()
    directory = Path(args.keep or tempfile.mkdtemp(prefix="lantern-bench-whatif-"))
    settings = Settings(service="dispatch", data_dir=directory)

    generated_s: float | None = None
    if not (directory / "dispatch.sqlite").exists():
        began = time.perf_counter()
        month = generate(
            days=args.days,
            per_day=args.per_day,
            env=store_env(settings),
            policy_change_day=args.days // 2,
        )
        month.app.close()
        generated_s = time.perf_counter() - began
        print(f"recorded {month.incidents} incidents in {generated_s:.0f} s", file=sys.stderr)

    began = time.perf_counter()
    with reading.offline(settings, pages=False) as history:
        read_s = time.perf_counter() - began
    incidents = len(history.incidents)
    policy = policy_from_toml(WHATIF_POLICY)
    began = time.perf_counter()
    document = run(history, policy, include_incidents=True, read_seconds=read_s)
    whatif_s = time.perf_counter() - began

    began = time.perf_counter()
    with reading.offline(settings) as everything:  # with the pages, to compare every event
        pinned = replay(everything)
        different = divergences(pinned)
    fidelity_s = time.perf_counter() - began

    write(
        "whatif",
        {
            "store": "sqlite (file, AES-GCM + zlib, as in production)",
            "incidents": incidents,
            "events_read_for_whatif": sum(len(r.events) for r in history.incidents.values())
            + len(history.roster),
            "days": args.days,
            "store_bytes": (directory / "dispatch.sqlite").stat().st_size,
            "record_s": round(generated_s, 1) if generated_s is not None else "(reused)",
            "read_s": round(read_s, 2),
            "fidelity_check_s": round(fidelity_s, 2),
            "divergences_as_pinned": len(different),
            "replay_whatif_and_report_s": round(whatif_s, 2),
            "modelled_incidents": document["overall"]["whatif"]["modelled"],
            "incidents_per_minute_replay_only": round(incidents / whatif_s * 60),
            "incidents_per_minute_read_and_replay": round(incidents / (read_s + whatif_s) * 60),
            "required_per_minute": 10_000,
        },
    )
    if different:
        print("\n".join(str(d) for d in different[:10]), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
