"""A run's files: ``bench.json``, ``bench.md`` (the table the README shows) and three plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PLOTS = ("latency_vs_rate.png", "drain_rate.png", "rebuild.png")


def write(result: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(result))
    plots(result, out)
    return [out / "bench.json", out / "bench.md", *(out / p for p in PLOTS)]


def _n(value: Any, digits: int = 1) -> str:
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return "—"


def markdown(r: dict[str, Any]) -> str:
    raw, rta = r["raw"], r["report_to_assigned"]
    lines = [
        f"`lantern bench{' --quick' if r['mode'] == 'quick' else ''} --store {r['store']}`, "
        f"{r['measured_at']}, {r['machine']}, {r['seconds_total']:.0f} s in all.",
        "",
        "| target | measured | target | met |",
        "|---|---|---|---|",
    ]
    for t in r["targets"]:
        lines.append(
            f"| {t['what']} | {_n(t['measured'], 2)} {t['unit']} | {t['target']} {t['unit']} "
            f"| {'met' if t['met'] else '**missed**'} |"
        )
    lines += [
        "",
        "| raw layer (same run) | measured |",
        "|---|---|",
        f"| eventsourcing commit of one event | {_n(raw['raw_commit_ms'], 3)} ms "
        f"({_n(raw['raw_commit_per_s'], 0)}/s) |",
        f"| JetStream publish with ack | {_n(raw['raw_publish_ms'], 3)} ms "
        f"({_n(raw['raw_publish_per_s'], 0)}/s) |",
        f"| JetStream delivery to a pull consumer | {_n(raw['raw_delivery_ms'], 3)} ms |",
        f"| notification read and decode | {_n(raw['raw_read_per_s'], 0)}/s |",
        f"| **raw floor** (two commits + two hops) | {_n(raw['raw_floor_ms'], 3)} ms |",
        "",
        "| reports/s offered | achieved | assigned | p50 ms | p95 ms | p99 ms | p50 / floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in rta["curve"]:
        lines.append(
            f"| {p['rate_per_s']} | {_n(p['achieved_rate_per_s'])} | {p['assigned']}/"
            f"{p['reports_sent']} | {_n(p['latency_ms_p50'])} | {_n(p['latency_ms_p95'])} "
            f"| {_n(p['latency_ms_p99'])} | {_n(p['ratio_p50_to_floor'], 2)} |"
        )
    life, restart, rebuild, history = r["lifecycle"], r["restart"], r["rebuild"], r["history"]
    drain = r["drain"]
    timeline = " / ".join(
        f"{_n(row['p99_ms'], 3)} ms at {row['incidents']:,}" for row in r["timeline"]["rows"]
    )
    rss = ", ".join(f"{k} {_n(v, 0)}" for k, v in r["rss_mb"].items())
    lines += [
        "",
        "| figure | measured | size |",
        "|---|---|---|",
        f"| lifecycles sustained | {_n(life['per_s'])}/s | {life['completed']} of "
        f"{life['lifecycles']}, {life['concurrency']} at a time; p50 "
        f"{_n(life['lifecycle_ms_p50'], 0)} ms each |",
        f"| dispatch drain | {_n(r['drain_per_s']['dispatch'], 0)}/s | "
        f"{drain['reports']:,} reports queued ({drain['store']}) |",
        f"| records drain | {_n(r['drain_per_s']['records'], 0)}/s | "
        f"{drain['records_drain']['messages']:,} messages queued |",
        f"| rebuild of {rebuild['rebuild_view']} from scratch | "
        f"{_n(r['rebuild_events_per_s'], 0)} events/s | {rebuild['rebuild_events']:,} events |",
        f"| records restarted to ready | {_n(restart['restart_to_ready_s'], 2)} s, "
        f"{_n(restart['rss_mb'], 0)} MB | {restart['events_stored']:,} events, "
        f"{restart['incidents']:,} incidents |",
        f"| timer lateness p99 | {_n(r['timer_lateness_p99_ms'])} ms | "
        f"{r['timers']['pending_deadlines']:,} pending, {r['timers']['fired']} fired |",
        f"| timeline p99 | {timeline} | ratio {_n(r['timeline']['p99_ratio'], 2)} |",
        f"| every service restarted to ready | "
        f"{_n(history['all_services_restart_to_ready_s'], 2)} s | "
        f"{history['incidents']:,} incidents, {history['events_stored']:,} events |",
        f"| resident memory (MB) | {rss} | {history['incidents']:,} incidents |",
        "",
    ]
    return "\n".join(lines)


def plots(r: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    curve = r["report_to_assigned"]["curve"]
    rates = [p["rate_per_s"] for p in curve]
    fig, ax = plt.subplots(figsize=(6, 4))
    for label in ("p50", "p95", "p99"):
        ax.plot(rates, [p[f"latency_ms_{label}"] for p in curve], marker="o", label=label)
    ax.axhline(r["raw_floor_ms"], color="grey", linestyle="--", label="raw floor")
    ax.set_xlabel("reports per second offered")
    ax.set_ylabel("report → assigned (ms)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("Report to assigned latency vs rate")
    fig.tight_layout()
    fig.savefig(out / "latency_vs_rate.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    names = ["dispatch drain", "records drain", "raw commit"]
    values = [r["drain_per_s"]["dispatch"], r["drain_per_s"]["records"], r["raw_commit_per_s"]]
    ax.bar(names, [v or 0 for v in values], color=["tab:blue", "tab:blue", "grey"])
    ax.set_ylabel("messages (commits) per second")
    ax.set_title("Backlog drain per consumer kind, beside one-event commits")
    fig.tight_layout()
    fig.savefig(out / "drain_rate.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    names = ["rebuild", "raw read + decode"]
    values = [r["rebuild_events_per_s"], r["rebuild"]["raw_read_per_s"]]
    ax.bar(names, [v or 0 for v in values], color=["tab:green", "grey"])
    ax.set_ylabel("events per second")
    ax.set_title(f"Read model rebuilt over {r['rebuild']['rebuild_events']:,} events")
    fig.tight_layout()
    fig.savefig(out / "rebuild.png", dpi=100)
    plt.close(fig)
