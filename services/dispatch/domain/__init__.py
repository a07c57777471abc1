"""Dispatch's private domain model: roster, assignment rules, incident responses. No I/O."""
