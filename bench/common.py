"""Helpers shared by the benchmark scripts: percentiles, progress, result files."""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


_BARS: dict[str, tuple[Any, Any]] = {}


def progress(label: str, done: int, total: int, started: float) -> None:
    """A progress bar on stderr (rich), updated to ``done`` of ``total``; closed when done.

    ``started`` (monotonic) is when the work began, so the elapsed time includes set-up.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if label not in _BARS:
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[elapsed]}"),
            transient=False,
        )
        bar.console.file = sys.stderr
        bar.start()
        _BARS[label] = (bar, bar.add_task(label, total=total, elapsed=""))
    bar, task = _BARS[label]
    bar.update(task, completed=done, elapsed=f"{time.monotonic() - started:5.1f} s")
    if done >= total:
        bar.stop()
        del _BARS[label]


def write(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
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
