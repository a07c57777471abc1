"""JSON Schema export of the whole contract, so clients in any language can talk to Lantern.

``lantern schema --out events/schemas`` regenerates the committed copies; a
contract test fails when they drift from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from events import access, audit, common, dispatch, followup, intake, operations, records, replies

#: Every public message, by the name its schema file carries.
CATALOGUE: dict[str, type[msgspec.Struct]] = {
    **intake.MESSAGES,
    **dispatch.MESSAGES,
    **followup.MESSAGES,
    **audit.MESSAGES,
    **access.MESSAGES,
    **records.MESSAGES,
    **operations.MESSAGES,
    **common.MESSAGES,
    **replies.MESSAGES,
}


def schemas() -> dict[str, dict[str, Any]]:
    """One self-contained JSON Schema per message name."""
    out: dict[str, dict[str, Any]] = {}
    for name, kind in CATALOGUE.items():
        schema = msgspec.json.schema(kind)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = name
        out[name] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = directory / f"{name}.json"
        path.write_text(render(schema))
        written.append(path)
    return written
