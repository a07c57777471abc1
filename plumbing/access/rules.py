"""The access rules, decided in one place for every operation of every service.

Each :class:`~plumbing.interface.commands.Operation` declares an :class:`Access`: whether it
is a command or a read, whether a read touches student data (then it is
audited), which roles may call it at all, and how to find the resource it
touches (a ``scope`` function the service supplies: the incident's school, its
reporter, the responders dispatched to it).  :func:`decide` applies the rules
below to (identity, access, resource); ``plumbing.interface.commands.execute`` calls it
the same way for HTTP and NATS, and the CLI goes through HTTP.

The rules (issue 5):

* **reporter**: may report (as themselves) and list schools; may read, and add
  to, only incidents they reported.
* **responder**: only incidents they were dispatched to (dispatch's assignments,
  known to every service, see ``plumbing.care_team``); acts as themselves.
* **supervisor**: everything operational for the schools in their token.
* **compliance**: reads everything and the audit trail; no operational command.
* **admin**: district-wide; manages roster, schools and configuration.
* **break-the-glass**: a responder or supervisor with an active grant
  (``bg`` claim, at most the policy's maximum and never past the token it was
  asked with, with a reason) may go beyond their scope and read student data
  beyond their role; never roster, configuration or audit review.  Every such
  access is audited with ``break_glass=True``.
* **writes are scoped like reads**: a supervisor changes availability,
  overrides and swaps only of responders who work at one of their schools
  (``Resource.responder_schools``).
* **acting as someone else** (a command whose ``self_field``, e.g.
  ``reporter_id`` or a note's ``by``, names another person) is refused for
  reporters, responders and supervisors (403, the field named).  An
  administrator may (and a role an operation names in ``others``: a supervisor
  revoking a responder's calendar feed), and a service's delegation does (a
  renewed-risk report names who found the risk): the audit entry then records
  both identities, the caller as actor and "on behalf of <person>" as its purpose.
* **a service's delegation** (role ``service``) may call exactly the operations
  its token names, nothing else, never with break-the-glass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plumbing.access.auth import Identity, Role
from plumbing.domain import DomainError

COMMAND, READ = "command", "read"
R = Role
EVERYONE = frozenset(Role) - {R.SERVICE}  # every person; a delegation is not one
STAFF = frozenset({R.RESPONDER, R.SUPERVISOR, R.ADMIN})  # operational staff
READERS = frozenset({R.RESPONDER, R.SUPERVISOR, R.COMPLIANCE, R.ADMIN})
CAN_BREAK_GLASS = frozenset({R.RESPONDER, R.SUPERVISOR})


class Forbidden(DomainError):
    """The caller is known but may not do this (403, field ``authorization``)."""


@dataclass(frozen=True)
class Resource:
    """What a request touches, as far as access rules care."""

    incident_id: str | None = None
    school_id: str | None = None
    student_ref: str | None = None
    reporters: frozenset[str] = frozenset()
    responders: frozenset[str] = frozenset()
    #: a roster write: the schools of each responder it changes (a supervisor must share one)
    responder_schools: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass(frozen=True)
class Access:
    kind: str  # command | read
    roles: frozenset[Role]
    student_data: bool = True  # a read of student data is audited; a list of schools is not
    #: the resource a request touches (loaded by the service; None = nothing to scope)
    scope: Callable[[Any], Resource | None] | None = None
    #: a request field that must name the caller for reporters and responders
    self_field: str | None = None
    #: may a break-the-glass grant open this operation beyond the caller's role?
    emergency: bool = True
    #: roles that may name someone else in ``self_field`` (recorded "on behalf of" them)
    others: frozenset[Role] = frozenset({R.ADMIN})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    break_glass: bool = False
    field: str = "authorization"  # what a refusal points at
    on_behalf_of: str = ""  # the person an administrator or a delegation acts for


def command(
    roles: frozenset[Role],
    scope: Callable[[Any], Resource | None] | None = None,
    self_field: str | None = None,
    emergency: bool = True,
) -> Access:
    return Access(COMMAND, roles, True, scope, self_field, emergency)


def read(
    roles: frozenset[Role],
    scope: Callable[[Any], Resource | None] | None = None,
    self_field: str | None = None,
    student_data: bool = True,
) -> Access:
    return Access(READ, roles, student_data, scope, self_field, student_data)


#: Operations for administration only (roster, schools, configuration): no emergency access.
def admin(*also: Role, scope: Callable[[Any], Resource | None] | None = None) -> Access:
    return Access(COMMAND, frozenset({R.ADMIN, *also}), False, scope, None, False)


def sees_school(identity: Identity | None, school_id: str | None) -> bool:
    """Whether a row of a list belongs in this caller's answer: supervisors see their schools.

    Reporters and responders list only their own rows already (``self_field``).
    """
    if identity is None or identity.role is not R.SUPERVISOR:
        return True
    if identity.break_glass_active(datetime.now(UTC)):
        return True
    return school_id is None or school_id in identity.schools


def by_school(request: Any) -> Resource:
    """Scope of a district-wide figure: one school if the request names it, else every school
    (so a supervisor must ask for one of theirs; compliance and admin see the district)."""
    return Resource(school_id=getattr(request, "school_id", None) or "(every school)")


def in_scope(identity: Identity, resource: Resource | None) -> str:
    """'' when the caller's role reaches the resource, else why not."""
    if resource is None or identity.role in (R.ADMIN, R.COMPLIANCE):
        return ""
    if identity.role is R.SUPERVISOR:
        for responder, schools in resource.responder_schools:
            if not schools & set(identity.schools):
                return f"responder {responder} does not work at one of your schools"
        if resource.school_id is None or resource.school_id in identity.schools:
            return ""
        return f"school {resource.school_id} is not one of your schools"
    if identity.role is R.RESPONDER:
        if resource.incident_id is None or identity.subject in resource.responders:
            return ""
        return "you were not dispatched to this incident"
    if resource.incident_id is None or identity.subject in resource.reporters:
        return ""
    return "you may read only incidents you reported"


def decide(
    access: Access,
    identity: Identity,
    request: Any,
    resource: Resource | None,
    now: datetime,
    operation: str = "",
) -> Decision:
    """Apply the rules; a refusal says why (it goes into the 403 and the audit entry)."""
    named = _named(access, request)
    if identity.role is R.SERVICE:
        if operation and operation in identity.operations:
            return Decision(True, on_behalf_of=named if named and named != identity.subject else "")
        return Decision(False, f"this delegation may only {', '.join(identity.operations)}")
    role_ok = identity.role in access.roles
    why = "" if role_ok else f"role {identity.role} may not {access.kind} this"
    acting_as = named is not None and named != identity.subject
    refused_as = identity.role in _SELF_ONLY or (
        access.kind == COMMAND and identity.role not in access.others
    )
    if role_ok and access.self_field and acting_as and refused_as:
        field = access.self_field
        return Decision(False, f"{field} must be you ({identity.subject})", field=field)
    if role_ok and access.self_field and named is None and identity.role in _SELF_ONLY:
        return Decision(False, f"{access.self_field} must be you ({identity.subject})")
    if role_ok:
        why = in_scope(identity, resource)
        if not why:
            on_behalf = named if acting_as and access.kind == COMMAND else ""
            return Decision(True, on_behalf_of=on_behalf or "")
    emergency = (
        access.emergency
        and identity.role in CAN_BREAK_GLASS
        and identity.break_glass_active(now)
        and (role_ok or access.kind == READ)
    )
    if emergency:
        return Decision(True, identity.break_glass_reason, break_glass=True)
    return Decision(False, why)


_SELF_ONLY = frozenset({R.REPORTER, R.RESPONDER})


def _named(access: Access, request: Any) -> str | None:
    """Whom the request says is acting (its ``self_field``), if it says."""
    if not access.self_field:
        return None
    value = getattr(request, access.self_field, None)
    return None if value is None else str(value)
