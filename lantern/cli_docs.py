"""``lantern docs asyncapi|openapi SERVICE``: the published contracts, generated from the code.

The same documents the services serve at ``/asyncapi.json`` and ``/openapi.json``;
printed without a running system (built on an in-memory store), so they can be
committed, diffed or handed to a code generator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from events.subjects import STORES
from lantern.cli_support import AddCommand


def cmd_docs(args: argparse.Namespace) -> None:
    if args.document == "asyncapi":
        from events.asyncapi import document

        print(json.dumps(document(), indent=2))
        return
    print(json.dumps(openapi_of(args.service), indent=2))


def openapi_of(service: str) -> dict[str, object]:
    """A service's OpenAPI document, from its composition root on a throw-away memory store."""
    import msgspec

    from lantern.services import builder
    from plumbing.access import keys
    from plumbing.settings import Settings

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            service=service,
            data_dir=Path(scratch),
            store="memory",
            dev_mode=True,  # a throw-away in-memory instance, only to read its document
        )
        keys.dev_keys(Path(scratch))  # a throw-away JWKS: the guard verifies, never signs
        process = builder(service)(settings)
        try:
            route = next(r for r in process.routes if getattr(r, "path", "") == "/openapi.json")
            endpoint = route.endpoint  # type: ignore[attr-defined]
            response = asyncio.run(endpoint(None))
            document: dict[str, object] = msgspec.json.decode(response.body)
        finally:
            process.app.close()
    return document


def register(add: AddCommand) -> None:
    docs = add(
        "docs", cmd_docs, "print the AsyncAPI or a service's OpenAPI document", json_flag=False
    )
    docs.add_argument(
        "document",
        choices=["asyncapi", "openapi"],
        help="asyncapi: every NATS subject of the system; openapi: one service's HTTP API",
    )
    docs.add_argument(
        "service",
        nargs="?",
        default="intake",
        choices=list(STORES),
        help="the service whose OpenAPI document to print (default intake)",
    )
