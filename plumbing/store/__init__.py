"""The event store: the base application, store selection from settings, read models."""
