"""Writing a what-if result to a directory: JSON, CSV tables and a PNG chart.

They are made from the result document alone (as returned by the HTTP API),
so the CLI can write them whether it asked the service or read a store offline.

* ``whatif.json``    the document itself;
* ``summary.csv``    scope, metric, actual, what-if, change (overall and per school);
* ``responders.csv`` pages per responder, actual and what-if;
* ``incidents.csv``  one row per incident (when the document has them);
* ``whatif.png``     time to assign and acknowledge (p50, p90) and pages per responder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

INCIDENT_COLUMNS = (
    "incident_id",
    "school_id",
    "risk",
    "reported_at",
    "pinned_policy",
    "actual_assigned_after_s",
    "whatif_assigned_after_s",
    "actual_acknowledged_after_s",
    "whatif_acknowledged_after_s",
    "actual_acknowledged_by",
    "whatif_acknowledged_by",
    "actual_escalation_steps",
    "whatif_escalation_steps",
    "actual_exhausted",
    "whatif_exhausted",
    "actual_pages",
    "whatif_pages",
    "modelled",
    "modelled_why",
)


def write(document: dict[str, Any], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = [
        _json(document, directory / "whatif.json"),
        _summary(document, directory / "summary.csv"),
        _responders(document, directory / "responders.csv"),
    ]
    if "incidents" in document:
        written.append(_incidents(document, directory / "incidents.csv"))
    written.append(chart(document, directory / "whatif.png"))
    return written


def _json(document: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def _summary(document: dict[str, Any], path: Path) -> Path:
    keys = [m["key"] for m in document["metrics"]]
    scopes = [("overall", document["overall"])] + [
        (s["school_id"], s) for s in document["by_school"]
    ]
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["scope", "metric", "actual", "whatif", "change"])
        for scope, figures in scopes:
            for key in keys:
                was, now = figures["actual"].get(key), figures["whatif"].get(key)
                out.writerow([scope, key, _blank(was), _blank(now), _blank(_delta(was, now))])
    return path


def _responders(document: dict[str, Any], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["responder_id", "actual_pages", "whatif_pages", "change"])
        for row in document["responders"]:
            was, now = row["actual_pages"], row["whatif_pages"]
            out.writerow([row["responder_id"], was, now, now - was])
    return path


def _incidents(document: dict[str, Any], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        out = csv.DictWriter(handle, fieldnames=INCIDENT_COLUMNS)
        out.writeheader()
        for row in document["incidents"]:
            flat: dict[str, Any] = {
                k: row[k]
                for k in ("incident_id", "school_id", "risk", "reported_at", "pinned_policy")
            }
            for side in ("actual", "whatif"):
                for key in (
                    "assigned_after_s",
                    "acknowledged_after_s",
                    "acknowledged_by",
                    "escalation_steps",
                    "exhausted",
                ):
                    flat[f"{side}_{key}"] = _blank(row[side][key])
                flat[f"{side}_pages"] = ";".join(row[side]["pages"])
            flat["modelled"] = row["modelled"]
            flat["modelled_why"] = " | ".join(row["modelled_why"])
            out.writerow(flat)
    return path


def chart(document: dict[str, Any], path: Path) -> Path:
    """Two panels: response times (p50, p90) and pages per responder, actual vs what-if."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    overall = document["overall"]
    times = [
        ("assign p50", "time_to_assign_p50_s"),
        ("assign p90", "time_to_assign_p90_s"),
        ("ack p50", "time_to_ack_p50_s"),
        ("ack p90", "time_to_ack_p90_s"),
    ]
    responders = document["responders"]
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1, 2]}
    )
    width = 0.4
    xs = list(range(len(times)))
    for offset, side, label in ((-width / 2, "actual", "actual"), (width / 2, "whatif", "what-if")):
        values = [overall[side].get(key) or float("nan") for _, key in times]
        left.bar([x + offset for x in xs], values, width, label=label)
    left.set_xticks(xs, [name for name, _ in times])
    left.set_yscale("log")  # assignment takes seconds, acknowledgement minutes
    left.set_ylabel("seconds from the report (log scale)")
    left.set_title("Time to assign and acknowledge")
    left.legend()
    ys = list(range(len(responders)))
    for offset, key, label in (
        (-width / 2, "actual_pages", "actual"),
        (width / 2, "whatif_pages", "what-if"),
    ):
        right.bar([y + offset for y in ys], [r[key] for r in responders], width, label=label)
    right.set_xticks(ys, [r["responder_id"] for r in responders], rotation=60, ha="right")
    right.set_ylabel("pages")
    right.set_title("Pages per responder")
    right.legend()
    version = document["policy"].get("version")
    figure.suptitle(f"What-if: policy {version} against the record")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _delta(was: Any, now: Any) -> Any:
    numbers = (int, float)
    if isinstance(was, numbers) and isinstance(now, numbers) and not isinstance(was, bool):
        return round(now - was, 3)
    return None


def _blank(value: Any) -> Any:
    return "" if value is None else value
