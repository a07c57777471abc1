"""NATS header names that carry identity and tracing alongside every event."""

MSG_ID = "Nats-Msg-Id"  # JetStream de-duplication key: "<service>/<aggregate>/<version>"
SOURCE = "Lantern-Source"  # service whose store recorded the event
POSITION = "Lantern-Position"  # notification id in the source store (strictly increasing)
SCHEMA = "Lantern-Schema"  # tag of the payload struct, e.g. "intake.incident_reported.v1"
INCIDENT_ID = "Lantern-Incident-Id"
CORRELATION_ID = "Lantern-Correlation-Id"
CAUSATION_ID = "Lantern-Causation-Id"
RECORDED_AT = "Lantern-Recorded-At"
ERROR = "Lantern-Error"  # on a parked message: why it was parked
DELIVERIES = "Lantern-Deliveries"  # on a parked message: how often it was tried
ORIGINAL_SUBJECT = "Lantern-Original-Subject"
