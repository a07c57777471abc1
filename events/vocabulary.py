"""Closed vocabularies shared by every message (snake_case on the wire)."""

from enum import StrEnum


class Category(StrEnum):
    """Concern categories a reporter can tick (one or more per report)."""

    SUICIDAL_IDEATION = "suicidal_ideation"
    SELF_HARM = "self_harm"
    HARM_TO_OTHERS = "harm_to_others"
    ABUSE_DISCLOSURE = "abuse_disclosure"
    ACUTE_DISTRESS = "acute_distress"
    SUBSTANCE_USE = "substance_use"
    GRIEF_TRAUMA = "grief_trauma"
    OTHER = "other"


class RiskLevel(StrEnum):
    """Triage levels, ordered from least to most urgent."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    IMMINENT = "imminent"


class ResponderRole(StrEnum):
    """Roles on the district roster."""

    SCHOOL_PSYCHOLOGIST = "school_psychologist"
    SCHOOL_SOCIAL_WORKER = "school_social_worker"
    COUNSELOR = "counselor"
    CRISIS_TEAM_LEAD = "crisis_team_lead"
    SUPERVISOR = "supervisor"
    DISTRICT_CRISIS_LEAD = "district_crisis_lead"
