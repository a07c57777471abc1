"""Records' feeds: every upstream stream's integration events, and apart, its audit entries.

Why records decodes for itself: it reads every kind of event, so a kind it
does not know (a newer event, a notice) is passed over and never parks good
traffic behind it; an unknown *version* of an event it does know is poison,
and a known tag that does not fit the contract is poison too.  The headers
(message id, when the source recorded it, causation and correlation) reach
the ledgers through the :class:`~plumbing.messaging.feed.Inbound`.
"""

from __future__ import annotations

from typing import Any

from events.subjects import RECORDS
from plumbing.messaging.failures import Poison
from plumbing.messaging.feed import Feed, Inbound, decode_payload
from services.records.application import RecordsApplication
from services.records.translate import KNOWN

_NAMES = {tag.rsplit(".v", 1)[0] for tag in KNOWN}


def decode(message: Inbound) -> Any:
    kind = KNOWN.get(message.schema)
    if kind is None:
        if message.schema.rsplit(".v", 1)[0] in _NAMES:
            raise Poison(f"unknown schema version {message.schema}")
        return None
    return decode_payload(message.data, kind)


def feed(app: RecordsApplication, upstream: str, *, audit: bool = False) -> Feed:
    """Records' feed of an upstream service's events (or, apart, its audit entries).

    Each feed has its own lanes and progress, since each sees only its own, still
    increasing, positions.
    """
    return Feed(
        consumer=RECORDS,
        name=f"{RECORDS}-{'audit-' if audit else ''}from-{upstream}",
        upstream=upstream,
        family="audit" if audit else "evt",
        decode=decode,
        decide=lambda message, inbound: app.on_message(upstream, message, inbound.headers),
        prefetch=app.touched,
    )
