"""``lantern bench``: the benchmark suite, beside the raw layers measured in the same run.

Progress goes to stderr; the figures to ``DIR/bench.json``, ``DIR/bench.md`` and
three plots.  ``--quick`` runs every stage smaller (a few minutes) and says so in
the JSON.  See :mod:`lantern.benchmarks.suite` for what each stage measures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lantern.cli_support import EXIT_INPUT, AddCommand, CliError


def cmd_bench(args: argparse.Namespace) -> None:
    from lantern.benchmarks import report, suite
    from plumbing import logs

    logs.configure("bench", json=True, level="WARNING")
    base = suite.QUICK if args.quick else suite.FULL
    try:
        sizes = suite.sized(base, json.loads(args.sizes)) if args.sizes else base
    except (ValueError, TypeError) as exc:
        raise CliError(f"bad --sizes: {exc}", "sizes", EXIT_INPUT) from None
    result = suite.run(sizes, args.store, args.quick)
    written = report.write(result, Path(args.out))
    print((Path(args.out) / "bench.md").read_text())
    for path in written:
        print(f"written: {path}", file=sys.stderr)


def register(add: AddCommand) -> None:
    bench = add("bench", cmd_bench, "measure Lantern beside its raw layers", json_flag=False)
    bench.add_argument(
        "--quick", action="store_true", help="every stage smaller: a few minutes, not fifteen"
    )
    bench.add_argument(
        "--store", choices=["sqlite", "postgres"], default="sqlite", help="the services' store"
    )
    bench.add_argument("--out", default="bench/results", metavar="DIR", help="where the figures go")
    # tests only: JSON of stage sizes replacing the chosen ones, e.g. {"lifecycles": 5}
    bench.add_argument("--sizes", default=None, help=argparse.SUPPRESS)
