"""Pipelined JetStream publishes whose every outcome is known: stored, duplicate or refused.

Why not nats-py's ``publish_async``: when JetStream answers a publish with an
error (a failed ``Nats-Expected-Last-Sequence``, a subject no stream takes, a
payload too large), nats-py 2.16 raises the error inside its reply callback and
the future never completes, so a relay awaiting it would hang (checked; see
the README's delivery section).  This publisher sends each message with its own
reply subject under one wildcard inbox and settles a future per message with
the parsed acknowledgement or the error, so the relay can stop exactly at the
first message that was not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription


@dataclass(frozen=True)
class Ack:
    """JetStream's answer to one publish."""

    seq: int = 0
    duplicate: bool = False
    error_code: int = 0  # JetStream's err_code (10071: wrong last sequence), 0 when stored
    error: str = ""

    @property
    def stored(self) -> bool:
        return not self.error


class _Error(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _Reply(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _Error | None = None


WRONG_LAST_SEQUENCE = 10071
NO_RESPONDERS = -1  # no stream takes the subject (or JetStream is not there)


@dataclass(frozen=True)
class Outbound:
    subject: str
    payload: bytes
    headers: Mapping[str, str]


class Publisher:
    """One wildcard reply subscription; :meth:`publish` sends a batch and awaits every answer."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self._inbox = nc.new_inbox()
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[Ack]] = {}
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(f"{self._inbox}.*", cb=self._on_reply)

    async def close(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.cancel()
        self._waiting.clear()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def _on_reply(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject, None)
        if future is None or future.done():
            return
        if (msg.headers or {}).get("Status") == "503":
            future.set_result(Ack(error_code=NO_RESPONDERS, error="no stream takes this subject"))
            return
        try:
            reply = msgspec.json.decode(msg.data, type=_Reply)
        except msgspec.DecodeError:
            future.set_result(Ack(error_code=0, error="unreadable acknowledgement"))
            return
        if reply.error is not None:
            e = reply.error
            future.set_result(Ack(error_code=e.err_code or e.code, error=e.description))
        else:
            future.set_result(Ack(seq=reply.seq, duplicate=reply.duplicate))

    async def publish(self, batch: Sequence[Outbound], timeout_s: float) -> list[Ack]:
        """Send every message, then wait for every answer (stream order = send order).

        A message without an answer within ``timeout_s`` is reported as an error
        (``TimeoutError`` text); the caller treats it as not stored.
        """
        assert self._sub is not None, "start() first"
        futures: list[asyncio.Future[Ack]] = []
        replies: list[str] = []
        loop = asyncio.get_running_loop()
        for item in batch:
            reply = f"{self._inbox}.{next(self._ids)}"
            future: asyncio.Future[Ack] = loop.create_future()
            self._waiting[reply] = future
            futures.append(future)
            replies.append(reply)
            await self.nc.publish(
                item.subject, item.payload, reply=reply, headers=dict(item.headers)
            )
        done, _ = await asyncio.wait(futures, timeout=timeout_s) if futures else (set(), set())
        acks: list[Ack] = []
        for future in futures:
            if future in done and not future.cancelled():
                acks.append(future.result())
            else:
                future.cancel()
                acks.append(Ack(error="TimeoutError: no acknowledgement in time"))
        for reply in replies:
            self._waiting.pop(reply, None)
        return acks
