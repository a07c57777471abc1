"""What a report says, and which of those facts may be corrected later.

Corrections are new events, never edits.  A correction names the field, the
new value, why, and since when the corrected value was true (``effective_at``,
which may lie before the correction itself: "as true at" is not "as known at").
Identifying details of the student are sensitive: corrections of them are
kept with the student file, and the incident records only that they changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from plumbing.domain import Invalid

CATEGORIES = (
    "suicidal_ideation",
    "self_harm",
    "harm_to_others",
    "abuse_disclosure",
    "acute_distress",
    "substance_use",
    "grief_trauma",
    "other",
)

#: Correctable fields -> whether the value is sensitive (kept off the incident and the wire).
CORRECTABLE: dict[str, bool] = {
    "location": False,
    "reporter_role": False,
    "language": False,
    "categories": False,
    "student_details.name": True,
    "student_details.date_of_birth": True,
    "student_details.grade": True,
}
NOT_CORRECTABLE = {
    "risk": "risk is changed by reclassification, with a reason",
    "school_id": "the school cannot be corrected: cancel and report again",
    "student_ref": "the student cannot be corrected: cancel and report again",
}


@dataclass(frozen=True)
class ReportFacts:
    """The facts of one report, beyond its triage (the same for a new or a linked report)."""

    school_id: str
    student_ref: str
    categories: list[str]
    reporter_id: str
    reporter_role: str = ""
    location: str = ""
    warning_signs: list[str] = field(default_factory=list)
    note: str = ""
    language: str = ""

    def __post_init__(self) -> None:
        if not self.categories:
            raise Invalid("at least one category is required", field="categories")
        for i, category in enumerate(self.categories):
            if category not in CATEGORIES:
                raise Invalid(f"unknown category {category!r}", field=f"categories[{i}]")
        object.__setattr__(self, "categories", unique(self.categories))


def unique(items: list[str]) -> list[str]:
    """De-duplicated, first occurrence first."""
    return list(dict.fromkeys(items))


def checked_correction(name: str, value: str) -> str:
    """The normalised value of a correction, or :class:`Invalid` naming the input field."""
    if name in NOT_CORRECTABLE:
        raise Invalid(NOT_CORRECTABLE[name], field="field")
    if name not in CORRECTABLE:
        raise Invalid(
            f"{name!r} cannot be corrected; one of: {', '.join(CORRECTABLE)}", field="field"
        )
    value = value.strip()
    if name == "categories":
        categories = unique([c.strip() for c in value.split(",") if c.strip()])
        bad = [c for c in categories if c not in CATEGORIES]
        if not categories or bad:
            raise Invalid(f"categories must be a comma-separated list of {CATEGORIES}", "value")
        return ",".join(categories)
    if name == "student_details.date_of_birth":
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise Invalid("a date of birth is YYYY-MM-DD", field="value") from None
    if name.startswith("student_details.") and not value:
        raise Invalid("a corrected detail cannot be empty", field="value")
    return value
