"""The delivery pipeline in one place.

Outbox relay, tracked consumers, streams, the NATS host and wake-ups.
"""
