"""Intake: records incidents and their triage.  The only way a report enters Lantern."""
