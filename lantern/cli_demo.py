"""``lantern demo --scenario``: scripted demonstrations with synthetic data.

* ``morning``: the crisis workflow; twenty incidents at five schools on a real
  system with a short escalation policy (see ``lantern/scenario.py``).
* ``followup``: a follow-up month in accelerated time, ending with on-time
  completion rates that match the script's hand count.
* ``all`` (the default): the morning, then the month.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lantern.cli_support import EXIT_FAILURE, AddCommand, CliError


def cmd_demo(args: argparse.Namespace) -> None:
    from lantern import scenario

    if not args.scenario:
        raise CliError("say which scenario: --scenario [morning|followup|all]", "scenario", 2)
    results: dict[str, object] = {}
    if args.scenario in ("morning", "all"):
        code = scenario.run(
            Path(args.workdir) if args.workdir else None, as_json=args.json, results=results
        )
        if code != 0:
            raise CliError("the morning scenario did not settle", None, EXIT_FAILURE)
    if args.scenario in ("followup", "all"):
        from services.followup.scenario import run_month

        month = run_month()
        results["followup"] = month
        if not args.json:
            print()
            print(month["text"])
    if args.json:
        print(json.dumps(results, indent=2, default=str))


def register(add: AddCommand) -> None:
    demo = add("demo", cmd_demo, "run a scripted scenario on synthetic data")
    demo.add_argument(
        "--scenario", nargs="?", const="all", default=None, choices=["morning", "followup", "all"]
    )
    demo.add_argument(
        "--workdir",
        default=None,
        help="where the scenario's own system keeps its data (default: a temp dir)",
    )
