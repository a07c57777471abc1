"""Reading a service's section of the Lantern TOML file, validated with the field path.

``lantern up --config FILE`` hands the same file to every service; each one
validates its own ``[<service>]`` table with msgspec, so a bad file is refused
naming the key (``dispatch.ack_deadline_seconds.high: Expected `int` >= 1``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from events.codec import ContractError, convert

T = TypeVar("T")


class ConfigError(ValueError):
    def __init__(self, reason: str, key: str | None = None) -> None:
        super().__init__(f"{key}: {reason}" if key else reason)
        self.reason = reason
        self.key = key


def load_file(path: str | Path) -> dict[str, Any]:
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None


def section(data: dict[str, Any], name: str, kind: type[T]) -> T:
    """Validate ``[name]`` (missing means all defaults) into ``kind``."""
    try:
        return convert(data.get(name, {}), kind)
    except ContractError as exc:
        key = f"{name}.{exc.field}" if exc.field else name
        raise ConfigError(exc.reason, key) from None
