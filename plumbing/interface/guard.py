"""The gate every operation passes, on every interface: authenticate, authorize, audit.

``plumbing.interface.commands.execute`` calls :meth:`Guard.identify` (401 without a valid
token) and then runs the operation through :meth:`Guard.run`, which

1. loads the resource the request touches (the operation's ``scope``),
2. applies the access rules (``plumbing.access.rules.decide``): a refusal is a 403
   ``{"error", "field": "authorization"}`` and an audit entry ``refused``,
3. runs the operation with its audit entry pending, so a command's entry is
   stored in the command's own transaction; a read of student data, a refusal
   or a command that stored nothing gets its own small write.

It also serves the operations every service shares: asking for break-the-glass
access, and compliance's queue of break-the-glass accesses to review.

A service verifies tokens and never signs one (it holds public keys only), so
it cannot create an identity: not for a person it acts for, not for a
break-the-glass grant.  Break-the-glass is therefore two steps: the guard
decides and records the grant (who, why, until when: capped by the policy's
maximum and by the caller's own token, and never asked for with a grant), and
the issuer that holds the key (the CLI, the console) signs a token carrying
that grant (``plumbing.access.auth.Issuer.break_glass``).  Every service checks
the grant again when it verifies the token (``Verifier``), so an issuer's
mistake cannot lengthen it either.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from events.access import (
    BreakGlassRecordedV1,
    BreakGlassV1,
    ListBreakGlassV1,
    RecordRefusalV1,
    ReviewBreakGlassV1,
)
from plumbing import logs
from plumbing.access import auth, trust
from plumbing.access.auth import AuthError, Identity, Role, Verifier
from plumbing.access.rules import (
    CAN_BREAK_GLASS,
    COMMAND,
    EVERYONE,
    READ,
    Access,
    Forbidden,
    Resource,
    decide,
)
from plumbing.access.rules import command as command_access
from plumbing.domain import Conflict
from plumbing.integrity import audit
from plumbing.integrity.repeats import RepeatWindows
from plumbing.settings import Settings
from plumbing.store.application import LanternApplication
from plumbing.store.projections import Projection

if TYPE_CHECKING:
    from plumbing.interface.commands import Context, Operation

log = logs.get("lantern.guard")
COMPLIANCE = frozenset({Role.COMPLIANCE})
#: Operations without a declaration are for administrators only (deny by default).
UNDECLARED = Access(COMMAND, frozenset({Role.ADMIN}), True, None, None, False)


class _Queue(Projection):
    """The break-the-glass review queue, kept in the store (resumed, not rebuilt, at start)."""

    name = "break_glass"

    def __init__(self, app: LanternApplication) -> None:
        super().__init__(app)
        self.queue = audit.BreakGlassQueue(self.table("accesses"))

    def apply(self, event: Any) -> None:
        self.queue.apply(event)


class Guard:
    def __init__(
        self,
        *,
        app: LanternApplication,
        service: str,
        verifier: Verifier,
        repeat_window_s: float = 0.0,
    ) -> None:
        self.app = app
        self.service = service
        self.verifier = verifier
        self.review_queue = _Queue(app)
        #: repeated identical reads make one entry with a count (run ``repeat_flusher`` beside)
        self.repeats = RepeatWindows(repeat_window_s, self.store)

    @classmethod
    def from_settings(cls, settings: Settings, app: LanternApplication) -> Guard:
        """Refuses to build (so the service refuses to start) without a JWKS it can read."""
        return cls(
            app=app,
            service=settings.service,
            verifier=trust.verifier(settings),
            repeat_window_s=settings.audit_repeat_window_s,
        )

    async def repeat_flusher(self, stop: Any) -> None:
        """Background work: record closed windows of repeated reads, and all of them at stop."""
        await self.repeats.run(stop)

    # -- authentication ------------------------------------------------------------------------
    def identify(self, headers: Any) -> Identity:
        token = auth.bearer(headers)
        if not token:
            raise AuthError("a bearer token is required (Authorization: Bearer ...)")
        return self.verifier.verify(token)

    # -- authorization and audit -----------------------------------------------------------------
    def run(self, op: Operation[Any], request: Any, ctx: Context) -> Any:
        """Decide, audit and run one operation (in a worker thread: the store is synchronous)."""
        from plumbing.interface.commands import Result, status_of

        access: Access = op.access or UNDECLARED
        identity = ctx.identity
        assert identity is not None
        # A role that may never call this is refused before anything is loaded: the
        # answer is the same whether the resource exists or not (nothing to probe).
        hopeless = identity.role not in access.roles and not identity.break_glass_active(ctx.now)
        resource = access.scope(request) if access.scope and not hopeless else None
        decision = decide(access, identity, request, resource, ctx.now, op.name)
        entry = self._entry(op, access, identity, resource, ctx)
        if decision.on_behalf_of:  # both identities: the caller is the actor
            entry.purpose = f"on behalf of {decision.on_behalf_of}; {entry.purpose}"[:200]
        entry.break_glass = decision.break_glass
        entry.break_glass_reason = identity.break_glass_reason if decision.break_glass else ""
        if not decision.allowed:
            entry.outcome, entry.status, entry.reason = "refused", 403, decision.reason
            self.store(entry)
            log.warning("access refused", action=op.name, role=identity.role, why=decision.reason)
            raise Forbidden(f"not allowed: {decision.reason}", decision.field)
        if access.kind != COMMAND and not access.student_data and not decision.break_glass:
            return op.handle(request, ctx)  # no student data: nothing to audit
        with audit.pending(entry):
            try:
                outcome = op.handle(request, ctx)
            except Exception as exc:
                if not entry.stored:
                    entry.status = status_of(exc)
                    self.store(entry)
                raise
            if not entry.stored:
                entry.status = outcome.status if isinstance(outcome, Result) else 200
                repeatable = access.kind != COMMAND and not decision.break_glass
                record_now = not repeatable or self.repeats.admit(entry)
                if record_now and not entry.stored:  # a closed window's summary may carry it
                    self.store(entry)
        return outcome

    def _entry(
        self,
        op: Operation[Any],
        access: Access,
        identity: Identity,
        resource: Resource | None,
        ctx: Context,
    ) -> audit.Entry:
        said = auth.header(ctx.headers, auth.INTERFACE_HEADER)
        return audit.Entry(
            service=self.service,
            actor=identity.subject,
            role=str(identity.role),
            action=op.name,
            kind=access.kind,
            interface="cli" if said == "cli" and ctx.interface == "http" else ctx.interface,
            trace=ctx.trace,
            at=ctx.now,
            purpose=auth.header(ctx.headers, auth.PURPOSE_HEADER)[:200],
            incident_id=resource.incident_id if resource else None,
            student_ref=resource.student_ref if resource else None,
            school_id=resource.school_id if resource else None,
        )

    def store(self, entry: audit.Entry) -> None:
        """A write of its own (marked first, so it does not also ride along)."""
        entry.stored = True
        try:
            self.app.record(entry.aggregate())
        except Exception:
            entry.stored = False
            raise

    # -- the operations every service shares ------------------------------------------------------
    def operations(self) -> list[Operation[Any]]:
        from plumbing.interface.commands import Operation, Result

        def break_glass(c: BreakGlassV1, ctx: Context) -> Result:
            """Decide and record a grant; the issuer signs its token (see the module doc)."""
            identity = ctx.identity
            assert identity is not None
            entry = audit.current()
            assert entry is not None
            entry.incident_id = str(c.incident_id) if c.incident_id else None
            if identity.is_grant:
                entry.outcome, entry.status = "refused", 403
                entry.reason = "a break-the-glass grant cannot ask for another"
                self.store(entry)
                raise Forbidden(f"not allowed: {entry.reason}", "authorization")
            policy = self.verifier.policy.max_break_glass
            caps = [ctx.now + timedelta(minutes=c.minutes), ctx.now + policy]
            if identity.expires_at is not None:
                caps.append(identity.expires_at)  # never outlives the token it was asked with
            until = min(caps).replace(microsecond=0)
            entry.break_glass, entry.break_glass_reason = True, c.reason
            recorded = BreakGlassRecordedV1(
                reason=c.reason, until=until, audit_id=str(entry.audit_id)
            )
            return Result(recorded, 201)

        def listing(q: ListBreakGlassV1, _: Context) -> list[dict[str, Any]]:
            self.review_queue.catch_up()
            with self.review_queue.lock:
                return self.review_queue.queue.listing(q.unreviewed)

        def review(c: ReviewBreakGlassV1, ctx: Context) -> dict[str, Any]:
            self.review_queue.catch_up()
            with self.review_queue.lock:
                self.review_queue.queue.known(c.audit_id)
            entry: audit.AuditEntry = self.app.repository.get(c.audit_id)
            if entry.reviewed:
                raise Conflict(f"access {c.audit_id} is already reviewed", "audit_id")
            reviewer = ctx.identity.subject if ctx.identity else ctx.trace.actor
            entry.review(reviewer, c.note, ctx.now, ctx.trace)
            self.app.record(entry)
            return {"audit_id": str(c.audit_id), "reviewed": True}

        def record_refusal(c: RecordRefusalV1, _: Context) -> Result:
            """The caller's own refusal by a client that guards a page itself (the console)."""
            entry = audit.current()
            assert entry is not None
            entry.action, entry.kind = c.what, READ
            entry.outcome, entry.status, entry.reason = "refused", 403, c.reason
            entry.incident_id = str(c.incident_id) if c.incident_id else None
            self.store(entry)
            return Result({"audit_id": str(entry.audit_id), "recorded": True}, 201)

        return [
            Operation(
                "record_refusal",
                RecordRefusalV1,
                "POST",
                "/access/refusals",
                record_refusal,
                summary="Audit a refusal of the caller by a client (a console page)",
                access=Access(COMMAND, EVERYONE, True, None, None, False),
            ),
            Operation(
                "break_glass",
                BreakGlassV1,
                "POST",
                "/access/break-glass",
                break_glass,
                summary="Emergency access beyond your role: a reason, time-limited, reviewed "
                "(recorded here; the issuer signs the grant's token)",
                returns=BreakGlassRecordedV1,
                access=command_access(CAN_BREAK_GLASS, emergency=False),
            ),
            Operation(
                "list_break_glass",
                ListBreakGlassV1,
                "GET",
                "/audit/break-glass",
                listing,
                summary="Break-the-glass accesses recorded here (compliance's review queue)",
                access=Access(READ, COMPLIANCE, True, None, None, False),
            ),
            Operation(
                "review_break_glass",
                ReviewBreakGlassV1,
                "POST",
                "/audit/break-glass/{audit_id}/review",
                review,
                access=command_access(COMPLIANCE, emergency=False),
            ),
        ]
