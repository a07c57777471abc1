"""NATS header names that carry identity, order and tracing alongside every event.

Order and gap detection (see ``plumbing/messaging/relay.py``): a message's
``Lantern-Position`` is its notification id in the source store, unique within
the store's ``Lantern-Epoch``; ``Lantern-Previous`` is the position of the
previous message in the same lane (the same subject family and partition), so
a consumer that sees ``Lantern-Previous`` ahead of what it has processed knows
a message is missing instead of passing the hole silently.
"""

MSG_ID = "Nats-Msg-Id"  # JetStream de-duplication key: "<service>/<aggregate>/<version>"
EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"  # the relay's publish chain
SOURCE = "Lantern-Source"  # service whose store recorded the event
POSITION = "Lantern-Position"  # notification id in the source store (strictly increasing)
EPOCH = "Lantern-Epoch"  # identity of the source store's life (a new store is a new epoch)
PARTITION = "Lantern-Partition"  # the partition (decimal) the subject carries as p<N>
PREVIOUS = "Lantern-Previous"  # position of the previous message in the lane (0: first)
SCHEMA = "Lantern-Schema"  # tag of the payload struct, e.g. "intake.incident_reported.v1"
INCIDENT_ID = "Lantern-Incident-Id"
CORRELATION_ID = "Lantern-Correlation-Id"
CAUSATION_ID = "Lantern-Causation-Id"
RECORDED_AT = "Lantern-Recorded-At"
TRACEPARENT = "traceparent"  # W3C trace context, carried from the request that caused it
ERROR = "Lantern-Error"  # on a parked message: why it was parked
FAILURE = "Lantern-Failure"  # on a parked message: its failure class (poison, rejected, defect)
DELIVERIES = "Lantern-Deliveries"  # on a parked message: how often it was tried
ORIGINAL_SUBJECT = "Lantern-Original-Subject"
ORIGINAL_STREAM = "Lantern-Original-Stream"
ORIGINAL_SEQUENCE = "Lantern-Original-Sequence"
CONSUMER = "Lantern-Consumer"  # on a parked message: the durable consumer that parked it
