"""Intake's private domain model: aggregates and their rules, no I/O."""
