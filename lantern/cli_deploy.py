"""``lantern deploy apply|nats-cluster|nats-permissions``: a deployment's NATS, as code.

``apply`` brings JetStream to what this version needs (streams, the lease
bucket, every durable consumer; ``plumbing.messaging.deployment``), as the
operator user, before the services of a managed deployment start: run it with
``--dry-run`` first and review the plan, like a schema migration.  It is
idempotent; a second run reports nothing to do.

``nats-cluster`` and ``nats-permissions`` print (or write) the nats-server
configurations of ``deploy/nats/``, so those files are always this output.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

import nats
from nats.errors import NoServersError

from lantern.cli_support import EXIT_INPUT, EXIT_UNREACHABLE, AddCommand, CliError, emit


def cmd_apply(args: argparse.Namespace) -> None:
    from events.subjects import Subjects
    from plumbing.messaging import natsurl
    from plumbing.messaging.deployment import Topology, apply
    from plumbing.settings import nats_servers

    url = args.nats_url or os.environ.get("LANTERN_NATS_URL", "nats://127.0.0.1:4222")
    if args.replicas not in (1, 3, 5):
        raise CliError(
            "replicas must be 1, 3 or 5 (a majority must survive)", "replicas", EXIT_INPUT
        )
    topology = Topology(Subjects(args.prefix, args.partitions), replicas=args.replicas)

    async def run() -> list[str]:
        async def quiet(_: Exception) -> None:
            """nats-py logs every connection error with a traceback unless told otherwise."""

        connecting = nats.connect(
            nats_servers(url),
            connect_timeout=2,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=quiet,
            **natsurl.options(url),  # replies in the user's own inbox, as every connection
        )
        nc = await asyncio.wait_for(connecting, timeout=5)  # nats-py may retry a refused one
        try:
            return await apply(nc.jetstream(), topology, dry_run=args.dry_run)
        finally:
            await nc.close()

    try:
        changes = asyncio.run(run())
    except (OSError, TimeoutError, NoServersError) as exc:
        raise CliError(
            f"NATS unreachable: {type(exc).__name__}", "nats_url", EXIT_UNREACHABLE
        ) from None
    except Exception as exc:  # noqa: BLE001 - a refusal by the server: one line, no traceback
        raise CliError(f"JetStream refused: {exc}".splitlines()[0], "nats_url") from None
    result = {
        "prefix": args.prefix,
        "partitions": args.partitions,
        "replicas": args.replicas,
        "applied": not args.dry_run,
        "changes": changes,
    }
    emit(args, result, _human)


def _human(result: dict[str, Any]) -> str:
    if not result["changes"]:
        return "up to date: nothing to do"
    head = "applied:" if result["applied"] else "plan (nothing changed; run without --dry-run):"
    return "\n".join([head, *(f"  {c}" for c in result["changes"])])


def cmd_nats_cluster(args: argparse.Namespace) -> None:
    from lantern.natscluster import default_cluster, render

    if args.nodes not in (3, 5):
        raise CliError("a cluster has 3 or 5 nodes", "nodes", EXIT_INPUT)
    cluster = default_cluster(args.nodes)
    for node in cluster.nodes:
        text = render(cluster, node)
        if args.out:
            path = Path(args.out) / f"{node.name}.conf"
            path.write_text(text)
            print(path)
        else:
            print(text)


def cmd_nats_permissions(args: argparse.Namespace) -> None:
    from events.subjects import Subjects
    from lantern.nats_permissions import render

    print(render(Subjects(args.prefix, args.partitions)), end="")


def register(add: AddCommand) -> None:
    deploy = add("deploy", lambda _: None, "a deployment's NATS: streams, consumers, configs")
    sub = deploy.add_subparsers(dest="deploy_command", required=True)
    prefix = os.environ.get("LANTERN_PREFIX", "lantern")
    partitions = int(os.environ.get("LANTERN_PARTITIONS", "4"))

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--prefix", default=prefix, help="subject and stream prefix")
        p.add_argument(
            "--partitions", type=int, default=partitions, help="partitions of every feed"
        )

    apply = sub.add_parser("apply", help="create or update streams and consumers (idempotent)")
    apply.set_defaults(fn=cmd_apply)
    apply.add_argument("--json", action="store_true", help="machine-readable output")
    apply.add_argument("--nats-url", default=None, help="NATS, as the operator user")
    apply.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("LANTERN_STREAM_REPLICAS", "1")),
        help="copies of every stream: 1 on one server, 3 on a three-node cluster",
    )
    apply.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    common(apply)

    cluster = sub.add_parser("nats-cluster", help="the cluster nodes' nats-server configs")
    cluster.set_defaults(fn=cmd_nats_cluster)
    cluster.add_argument("--nodes", type=int, default=3, help="3 or 5")
    cluster.add_argument("--out", default=None, help="write nats-<n>.conf files into DIR")

    permissions = sub.add_parser("nats-permissions", help="the per-service users and grants")
    permissions.set_defaults(fn=cmd_nats_permissions)
    common(permissions)
