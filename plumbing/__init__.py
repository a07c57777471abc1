"""Plumbing every Lantern service shares: store selection, the outbox relay,
the idempotent consumer, logging, and the process host.  It knows no service."""
