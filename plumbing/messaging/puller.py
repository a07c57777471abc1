"""Pull-consumer delivery that hands over whatever has arrived, at once, up to a batch.

Why not nats-py's ``fetch(batch=N)``: once one message has arrived, it waits for
the rest of the batch until its timeout, so at low load a single crisis report
would sit in the client for the whole timeout.  Here one pull request for ``N``
messages is kept open on the server (renewed when it is used up or expires),
messages land in a queue as they arrive, and :meth:`take` returns as soon as
there is at least one: a busy stream fills batches, a quiet one costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

STATUS = "Status"
#: Server status codes on a pull request: nothing now / request expired / conflict / heartbeat.
DONE_STATUSES = ("404", "408", "409")
# A pull for a consumer that does not exist gets no answer at all (not even "no
# responders"): the lane finds that out by polling the consumer (``Lane.run``).


class Puller:
    def __init__(
        self,
        nc: Client,
        *,
        stream: str,
        durable: str,
        batch: int,
        expires_s: float = 5.0,
        api_prefix: str = "$JS.API",
    ) -> None:
        self.nc = nc
        self.batch = batch
        self.expires_s = expires_s
        self._next = f"{api_prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = nc.new_inbox()
        self._queue: asyncio.Queue[Msg] = asyncio.Queue()
        self._sub: Subscription | None = None
        self._outstanding = 0  # messages the open request may still deliver
        self._deadline = 0.0  # when the open request expires (monotonic)
        self.conflict = ""  # the last 409 reason (consumer deleted, leadership change...)

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(self._inbox, cb=self._on_msg)

    async def stop(self) -> list[Msg]:
        """Stop pulling; returns messages received but not taken (to be given back)."""
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        left: list[Msg] = []
        while not self._queue.empty():
            left.append(self._queue.get_nowait())
        return left

    async def _on_msg(self, msg: Msg) -> None:
        status = (msg.headers or {}).get(STATUS)
        if status is None:
            self._outstanding = max(0, self._outstanding - 1)
            self._queue.put_nowait(msg)
        elif status in DONE_STATUSES:
            if status == "409":
                self.conflict = (msg.headers or {}).get("Description", "conflict")
            self._outstanding = 0
        # 100 (idle heartbeat / flow control) needs nothing

    async def _request(self) -> None:
        if self._outstanding > 0 and time.monotonic() < self._deadline:
            return
        body = {"batch": self.batch, "expires": int(self.expires_s * 1_000_000_000)}
        self._outstanding = self.batch
        self._deadline = time.monotonic() + self.expires_s - 0.05
        await self.nc.publish(self._next, json.dumps(body).encode(), reply=self._inbox)

    async def take(self, wait_s: float) -> list[Msg]:
        """Up to ``batch`` messages, as soon as one is there (empty after ``wait_s``)."""
        await self._request()
        taken: list[Msg] = []
        if self._queue.empty():
            with contextlib.suppress(TimeoutError):
                taken.append(await asyncio.wait_for(self._queue.get(), timeout=wait_s))
        while not self._queue.empty() and len(taken) < self.batch:
            taken.append(self._queue.get_nowait())
        await self._request()  # keep the next messages coming while these are processed
        return taken
