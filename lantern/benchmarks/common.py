"""What the benchmarks share: percentiles, progress lines, CPU meters, result files."""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = time.monotonic() - started
    print(f"\r{label}: {done}/{total} ({elapsed:5.1f} s)", end="", file=sys.stderr, flush=True)
    if done >= total:
        print(file=sys.stderr)


@dataclass
class Meter:
    """CPU seconds this process spent between start() and stop() (user + system)."""

    began: float = 0.0
    cpu_s: float = 0.0

    @staticmethod
    def _now() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def start(self) -> None:
        self.began = self._now()

    def stop(self) -> None:
        self.cpu_s = self._now() - self.began


def write(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    figures = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        **figures,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(f"written to {path}", file=sys.stderr)
    return path
