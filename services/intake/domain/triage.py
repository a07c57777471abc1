"""Triage: the risk level of a report, and the screener that may suggest it.

Lantern is not a clinician.  The structured screener follows the published
triage of the Columbia (C-SSRS) screener and only *suggests* a level; a person
chooses.  When the chosen level differs from the suggestion, the reason is
required and kept, so the record shows who departed from the aid and why.
Immediate danger (a weapon, a medical emergency, an attempt in progress) always
means the highest level: the reporter must call emergency services first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from plumbing.domain import Invalid

LOW, MODERATE, HIGH, IMMINENT = "low", "moderate", "high", "imminent"
LEVELS = (LOW, MODERATE, HIGH, IMMINENT)  # least to most urgent
DANGER_KINDS = ("weapon", "medical_emergency", "attempt_in_progress")
EMERGENCY_INSTRUCTION = (
    "Call 911 now; Lantern coordinates the school's response and does not replace 911/988."
)


@dataclass(frozen=True)
class ScreenerAnswers:
    """The six yes/no items; ``None`` means "not asked" (items 3-5 after a "no" to item 2)."""

    q1: bool  # wished to be dead
    q2: bool  # thoughts of killing oneself
    q3: bool | None  # thought about how (a method)
    q4: bool | None  # some intent to act
    q5: bool | None  # a specific plan with intent
    q6: bool  # did or prepared anything to end one's life (lifetime)
    q6_past_3_months: bool | None  # ...and was that within the past 3 months

    def as_dict(self) -> dict[str, bool | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenerAnswers:
        return cls(**data)


def check_screener(answers: ScreenerAnswers, field: str = "screener") -> None:
    """Refuse answers the screener's skip logic cannot produce, naming the item."""
    for item in ("q3", "q4", "q5"):
        value = getattr(answers, item)
        if not answers.q2 and value is not None:
            raise Invalid(f"{item} is skipped when q2 is no", field=f"{field}.{item}")
        if answers.q2 and value is None:
            raise Invalid(f"{item} must be answered when q2 is yes", field=f"{field}.{item}")
    if answers.q6 and answers.q6_past_3_months is None:
        raise Invalid(
            "say whether it was within the past 3 months", field=f"{field}.q6_past_3_months"
        )
    if not answers.q6 and answers.q6_past_3_months is not None:
        raise Invalid("only asked when q6 is yes", field=f"{field}.q6_past_3_months")


def suggest(answers: ScreenerAnswers) -> str:
    """The published triage level for valid answers (see :func:`check_screener`).

    high: item 4 or 5 yes, or item 6 yes within 3 months; moderate: item 3 yes,
    or item 6 yes longer ago; low: otherwise.  With every item "no" the screener
    found nothing, and low is the lowest level Lantern has; the person reporting
    still chooses.
    """
    if answers.q4 or answers.q5 or (answers.q6 and answers.q6_past_3_months):
        return HIGH
    if answers.q3 or answers.q6:
        return MODERATE
    return LOW


@dataclass(frozen=True)
class Triage:
    """The outcome of triage for one report."""

    risk: str  # the level in force
    chosen: str  # the level the person chose (before immediate danger raised it)
    suggested: str | None  # the screener's suggestion, if a screener was given
    override_reason: str  # why the chosen level differs from the suggestion ("" if not)
    screener: ScreenerAnswers | None
    immediate_danger: str | None

    @property
    def overridden(self) -> bool:
        return self.suggested is not None and self.chosen != self.suggested


def triage(
    *,
    risk: str | None,
    screener: ScreenerAnswers | None,
    override_reason: str = "",
    immediate_danger: str | None = None,
) -> Triage:
    """Decide the level of a report; refuse a missing level or an unexplained override."""
    if screener is not None:
        check_screener(screener)
    if immediate_danger is not None and immediate_danger not in DANGER_KINDS:
        raise Invalid(f"unknown kind of danger {immediate_danger!r}", field="immediate_danger")
    suggested = suggest(screener) if screener is not None else None
    chosen = risk or suggested
    if chosen is None:
        raise Invalid("a risk level is required unless a screener is given", field="risk")
    if chosen not in LEVELS:
        raise Invalid(f"unknown risk level {chosen!r}", field="risk")
    differs = suggested is not None and chosen != suggested
    if differs and not override_reason.strip():
        raise Invalid(
            f"the screener suggests {suggested}; say why {chosen} was chosen",
            field="risk_override_reason",
        )
    return Triage(
        risk=IMMINENT if immediate_danger else chosen,
        chosen=chosen,
        suggested=suggested,
        override_reason=override_reason.strip() if differs else "",
        screener=screener,
        immediate_danger=immediate_danger,
    )


def higher(a: str, b: str) -> bool:
    """Whether level ``a`` is more urgent than level ``b``."""
    return LEVELS.index(a) > LEVELS.index(b)
