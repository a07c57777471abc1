"""The Stanley-Brown safety plan: six parts, revised as a whole, every revision kept."""

from __future__ import annotations

from collections.abc import Mapping

from plumbing.domain import Conflict

#: The six parts, in the order the student and clinician write them.
PARTS = (
    "warning_signs",
    "coping_strategies",
    "distractions",
    "help_contacts",
    "professionals",
    "safe_environment",
)


def check_revision(
    *,
    current_revision: int,
    based_on: int,
    current: Mapping[str, list[str]],
    proposed: Mapping[str, list[str]],
) -> None:
    """Refuse a revision based on an outdated one (two editors), or one that changes nothing."""
    if based_on != current_revision:
        raise Conflict(
            f"the safety plan is at revision {current_revision}; this edit was based on "
            f"{based_on} (reload and edit again)",
            field="based_on",
        )
    if current_revision and all(current.get(p, []) == proposed.get(p, []) for p in PARTS):
        raise Conflict("this revision changes nothing", field="based_on")
