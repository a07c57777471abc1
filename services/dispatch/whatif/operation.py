"""The ``run_whatif`` operation: HTTP ``POST /whatif``, NATS ``<prefix>.cmd.dispatch.run_whatif``.

Who may run it: supervisors and administrators (a what-if reads every
incident of the period, so it is audited like a read of incident data, and no
break-the-glass grant opens it: it is planning, not an emergency).  A
supervisor sees only their schools: naming another school is refused, and
without a school filter they get their own.  The policy is district-wide, so
the replay still runs every school's incidents (they compete for the same
responders); only the report is narrowed.

The operation reads dispatch's store through eventsourcing's recorder and
mapper and runs in memory: the only write is the guard's audit entry.  It
runs inside the dispatch process, on the same CPU as the crisis path, so only
one runs at a time (a second is told to try again, 409); a what-if over a long
period is better run ``--offline`` against a copy of the store.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from events.dispatch import RunWhatIfV1
from plumbing.access.auth import Identity, Role
from plumbing.access.rules import READ, Access, Forbidden
from plumbing.domain import Conflict
from plumbing.integrity import audit
from plumbing.interface.commands import Context, Operation
from services.dispatch.whatif import reading
from services.dispatch.whatif.run import policy_from_toml, run

ACCESS = Access(READ, frozenset({Role.SUPERVISOR, Role.ADMIN}), emergency=False)


def operation(app: Any) -> Operation[RunWhatIfV1]:
    """``app``: anything with an eventsourcing ``recorder`` and ``mapper`` (dispatch's app)."""
    one_at_a_time = threading.Lock()

    def handle(request: RunWhatIfV1, ctx: Context) -> dict[str, Any]:
        schools = visible_schools(ctx.identity, request.schools)
        policy = policy_from_toml(request.policy)
        if not one_at_a_time.acquire(blocking=False):
            raise Conflict("a what-if is already running here; try again shortly", "policy")
        try:
            started = time.perf_counter()
            history = reading.read(app.recorder, app.mapper, pages=False)
            return run(
                history,
                policy,
                since=request.since,
                until=request.until,
                schools=schools,
                seed=request.seed,
                include_incidents=request.incidents,
                read_seconds=time.perf_counter() - started,
            )
        finally:
            one_at_a_time.release()

    return Operation(
        "run_whatif",
        RunWhatIfV1,
        "POST",
        "/whatif",
        handle,
        summary="Replay past incidents under another policy, beside what happened (read-only)",
        access=ACCESS,
    )


def visible_schools(identity: Identity | None, named: list[str]) -> set[str] | None:
    """The schools the report may show (None: every school)."""
    if identity is None or identity.role is not Role.SUPERVISOR:
        return set(named) or None
    outside = sorted(set(named) - set(identity.schools))
    if outside:
        why = f"school {outside[0]} is not one of your schools"
        entry = audit.current()
        if entry is not None:  # audited as a refusal, like the guard's own
            entry.outcome, entry.reason = "refused", why
        raise Forbidden(f"not allowed: {why}", "authorization")
    return set(named) if named else set(identity.schools)
