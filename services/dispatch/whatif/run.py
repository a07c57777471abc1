"""One what-if run, from a policy's TOML text to the result document.

Shared by the ``run_whatif`` operation (the live service reading its own
store) and ``lantern whatif --offline`` (reading a store directly).
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from plumbing.config import ConfigError
from plumbing.domain import Invalid
from services.dispatch import config
from services.dispatch.domain.policy import Policy
from services.dispatch.whatif import gc_pause, report
from services.dispatch.whatif.history import History
from services.dispatch.whatif.replay import replay


def policy_from_toml(text: str) -> Policy:
    """The ``[dispatch]`` section of a config file, validated as ``lantern up`` validates it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"the policy is not valid TOML: {exc}", "policy") from None
    if "dispatch" not in data:
        raise Invalid("the policy has no [dispatch] section", "policy")
    try:
        return config.parse(data).policy()
    except ConfigError as exc:
        raise Invalid(str(exc), "policy") from None


def run(
    history: History,
    policy: Policy,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    schools: Collection[str] | None = None,
    seed: int = 0,
    include_incidents: bool = False,
    read_seconds: float = 0.0,
) -> dict[str, Any]:
    if since is not None and until is not None and until <= since:
        raise Invalid("until must be after since", "until")
    with gc_pause.paused():  # the report allocates too, beside everything the replay keeps
        replayed = replay(history, policy, since=since, until=until, seed=seed)
        return report.build(
            replayed,
            policy={"version": policy.version, "snapshot": policy.snapshot()},
            schools=schools,
            include_incidents=include_incidents,
            read_seconds=read_seconds,
            generated_at=datetime.now(UTC),
        )
