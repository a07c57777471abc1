"""The Lantern console: the web app responders, supervisors, staff and compliance use.

It talks to the other services only through their public NATS operations and
their published JetStream streams, and imports none of them.
"""
