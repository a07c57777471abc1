"""Specification: one what-if at a time inside dispatch; a second is told to try again (409).

A what-if replays the district in dispatch's own process; two at once would
double that load on the service that pages responders.  Given a what-if still
replaying (held at its replay step), when a second is asked, then it is refused
with a conflict naming the policy, and once the first is done the next runs.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from events.dispatch import RunWhatIfV1
from plumbing.domain import Conflict
from plumbing.interface.commands import Context
from services.dispatch.application import DispatchApplication
from services.dispatch.whatif import operation as whatif
from services.dispatch.whatif import run as replay_step
from tests.support import NOW, TRACE, memory

POLICY = '[dispatch]\nversion = "v2"\n'


def test_a_second_whatif_while_one_runs_is_a_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    app = DispatchApplication(env=memory())
    replaying, finish = threading.Event(), threading.Event()
    real_run = replay_step.run  # the replay step the operation calls

    def held_run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        replaying.set()
        assert finish.wait(10)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(whatif, "run", held_run)
    op = whatif.operation(app)
    ctx = Context(trace=TRACE, now=NOW, interface="http", headers={})
    request = RunWhatIfV1(policy=POLICY)

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(op.handle, request, ctx)
        assert replaying.wait(10)
        with pytest.raises(Conflict) as refused:
            op.handle(request, ctx)
        assert refused.value.field == "policy"
        finish.set()
        assert first.result(10)["kind"] == "lantern.dispatch.whatif"

    monkeypatch.setattr(whatif, "run", real_run)
    assert op.handle(request, ctx)["kind"] == "lantern.dispatch.whatif"  # free again
