"""Transcodings that let long-lived aggregates be snapshotted.

A snapshot stores an aggregate's whole state, and eventsourcing's JSON
transcoder knows only JSON types, UUIDs, decimals and datetimes.  Sets (the
ids a ledger holds) and a few frozen dataclasses (a responder, a staff member)
are registered here, each with a name of its own in the stored JSON.  Events
never held these types (they could not have been stored), so registering them
changes no stored event.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding


class SetAsList(Transcoding):
    type = set
    name = "set"

    def encode(self, obj: Any) -> list[Any]:
        return sorted(obj, key=str)

    def decode(self, data: Any) -> set[Any]:
        return set(data)


def register(transcoder: JSONTranscoder, *transcodings: Transcoding) -> None:
    transcoder.register(SetAsList())
    for transcoding in transcodings:
        transcoder.register(transcoding)
