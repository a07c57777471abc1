"""A deployment's JetStream, as code: streams, the lease bucket and every durable consumer.

``lantern deploy apply`` runs this, as the operator, the way schema migrations
are run: ``--dry-run`` prints the plan (what would be created or changed, and
why), a review reads it, and ``apply`` carries it out.  Applying is idempotent:
a second run finds nothing to do.  Nothing is ever deleted or narrowed here.

Streams and the lease bucket come from :mod:`plumbing.messaging.streams` (the
same code ``lantern up`` provisions with).  Consumers: one durable pull
consumer per feed of ``events.subjects.FEEDS`` and partition, configured
exactly as the services' lanes create them (:func:`consumer_config`), so a
service started before or after ``apply`` finds what it would have made.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

from events.subjects import FEEDS, Subjects
from plumbing.messaging.consumer import consumer_config
from plumbing.messaging.streams import provision

#: The consumer settings a plan compares (what the lanes set; the server fills in the rest).
COMPARED = ("filter_subject", "ack_policy", "deliver_policy", "ack_wait", "max_deliver")


@dataclass(frozen=True)
class Topology:
    subjects: Subjects
    replicas: int = 1
    batch_size: int = 256

    def consumers(self) -> list[tuple[str, ConsumerConfig]]:
        """(stream, consumer) for every partition of every feed."""
        return [
            (
                self.subjects.stream(upstream),
                consumer_config(
                    self.subjects, consumer, name, upstream, family, partition, self.batch_size
                ),
            )
            for consumer, name, upstream, family in FEEDS
            for partition in range(self.subjects.partitions)
        ]


def consumer_changes(current: ConsumerConfig, wanted: ConsumerConfig) -> list[str]:
    changes = []
    for key in COMPARED:
        have, want = getattr(current, key), getattr(wanted, key)
        if key == "max_deliver" and have in (None, -1) and want == -1:
            continue
        if have != want:
            changes.append(f"{key} {have!r} -> {want!r}")
    if (current.max_ack_pending or 0) < (wanted.max_ack_pending or 0):
        changes.append(f"max_ack_pending {current.max_ack_pending} -> {wanted.max_ack_pending}")
    return changes


async def apply(js: JetStreamContext, topology: Topology, *, dry_run: bool = False) -> list[str]:
    """Bring JetStream to ``topology``; returns each change made (or, dry, to be made)."""
    changed = await provision(js, topology.subjects, topology.replicas, dry_run=dry_run)
    verb = ("would create", "would update") if dry_run else ("created", "updated")
    for stream, config in topology.consumers():
        try:
            info = await js.consumer_info(stream, config.durable_name or "")
        except NotFoundError:
            if not dry_run:
                await js.add_consumer(stream, config=config)
            changed.append(f"{verb[0]} consumer {stream}/{config.durable_name}")
            continue
        changes = consumer_changes(info.config, config)
        if changes:
            if not dry_run:
                await js.add_consumer(stream, config=config)
            changed.append(
                f"{verb[1]} consumer {stream}/{config.durable_name}: {'; '.join(changes)}"
            )
    return changed
