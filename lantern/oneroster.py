"""Reading a OneRoster 1.2 CSV export (orgs.csv, users.csv, roles.csv) into Lantern's roster.

What a district's SIS exports, and what Lantern takes from it:

* ``orgs.csv``: every org of type ``school`` becomes a school (``sourcedId`` is its
  id, ``name`` its name).  Districts and other org types are only referred to.
* ``users.csv`` and ``roles.csv``: a user with a role that maps to a Lantern role
  becomes a responder.  Their schools are the school orgs of those roles (a role
  at the district org means district-wide).  ``enabledUser=false`` or
  ``status=tobedeleted`` makes them unavailable; they stay on the roster, since
  the history names them.  OneRoster 1.1 files, with ``role`` and
  ``orgSourcedIds`` in ``users.csv`` and no ``roles.csv``, are read too.
* Default role mapping (:data:`ROLE_MAP`): ``counselor`` to ``counselor``,
  ``principal`` and ``siteAdministrator`` to ``supervisor``,
  ``districtAdministrator`` to ``district_crisis_lead``; other roles (teachers,
  students, guardians...) are not responders and are skipped, not refused.
  OneRoster has no psychologist or social worker role: the spec's extension
  columns ``metadata.lantern.role`` and ``metadata.lantern.skills`` in users.csv
  say so per person.

Every row is checked on its own against the contract (the same msgspec types
the API validates with), so one bad row is reported with its file, line and
field, and every valid row is still loaded.  Nothing here talks to a service.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from events.codec import ContractError, convert
from events.dispatch import AddResponderV1
from events.intake import AddSchoolV1
from events.vocabulary import ResponderRole

#: OneRoster 1.2 role -> Lantern responder role.
ROLE_MAP: dict[str, ResponderRole] = {
    "counselor": ResponderRole.COUNSELOR,
    "principal": ResponderRole.SUPERVISOR,
    "siteAdministrator": ResponderRole.SUPERVISOR,
    "districtAdministrator": ResponderRole.DISTRICT_CRISIS_LEAD,
}
#: The role vocabulary of OneRoster 1.2 (anything else in a role column is an error).
ONEROSTER_ROLES = frozenset(
    {
        "aide",
        "counselor",
        "districtAdministrator",
        "guardian",
        "parent",
        "principal",
        "proctor",
        "relative",
        "siteAdministrator",
        "student",
        "systemAdministrator",
        "teacher",
        "administrator",  # OneRoster 1.1
    }
)
#: Lantern's ranking when one person holds several mapped roles: the most senior wins.
_SENIORITY = [
    ResponderRole.COUNSELOR,
    ResponderRole.SCHOOL_SOCIAL_WORKER,
    ResponderRole.SCHOOL_PSYCHOLOGIST,
    ResponderRole.CRISIS_TEAM_LEAD,
    ResponderRole.SUPERVISOR,
    ResponderRole.DISTRICT_CRISIS_LEAD,
]


@dataclass(frozen=True)
class Problem:
    """A row that was not loaded: where, which field, why."""

    file: str
    line: int
    error: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "error": self.error}


@dataclass
class Roster:
    """What a OneRoster export holds for Lantern, and what could not be taken."""

    schools: list[AddSchoolV1] = field(default_factory=list)
    responders: list[AddResponderV1] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)  # valid, but not for Lantern
    rows: int = 0


class Export:
    """The CSV files of one export: a directory, or a zip as SIS exports come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self.files = {p.name: p.read_bytes() for p in path.glob("*.csv")}
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                self.files = {
                    Path(n).name: archive.read(n) for n in archive.namelist() if n.endswith(".csv")
                }
        else:
            raise FileNotFoundError(f"{path} is neither a directory nor a zip of CSV files")

    def rows(self, name: str) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, row) of one file; the header is line 1.  Missing file: no rows."""
        raw = self.files.get(name)
        if raw is None:
            return
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
        start = reader.line_num + 1
        for row in reader:
            yield start, {k.strip(): (v or "").strip() for k, v in row.items() if k}
            start = reader.line_num + 1


def read(path: Path, role_map: Mapping[str, ResponderRole] | None = None) -> tuple[Roster, Export]:
    export = Export(path)
    if "orgs.csv" not in export.files or "users.csv" not in export.files:
        raise FileNotFoundError(f"{path} needs orgs.csv and users.csv (OneRoster 1.2 CSV)")
    return _roster(export, {**ROLE_MAP, **(role_map or {})}), export


#: Lantern field -> the OneRoster column it came from (errors name the column in the file).
_COLUMNS = {
    "orgs.csv": {"school_id": "sourcedId", "name": "name"},
    "users.csv": {
        "responder_id": "sourcedId",
        "name": "givenName",
        "role": "metadata.lantern.role",
        "skills": "metadata.lantern.skills",
        "email": "email",
    },
}


def _problem(target: list[Problem], file: str, line: int, exc: ContractError) -> None:
    column = exc.field.split("[")[0].split(".")[0] if exc.field else None
    named = _COLUMNS.get(file, {}).get(column or "", exc.field)
    target.append(Problem(file, line, exc.reason, named))


def _roster(export: Export, role_map: Mapping[str, ResponderRole]) -> Roster:
    out = Roster()
    orgs: dict[str, str] = {}  # sourcedId -> type
    for line, row in export.rows("orgs.csv"):
        out.rows += 1
        org_id, kind = row.get("sourcedId", ""), row.get("type", "")
        if not org_id:
            _problem(out.errors, "orgs.csv", line, ContractError("is required", "sourcedId"))
            continue
        orgs[org_id] = kind
        if kind != "school":
            continue
        try:
            school = convert({"school_id": org_id, "name": row.get("name", "")}, AddSchoolV1)
        except ContractError as exc:
            _problem(out.errors, "orgs.csv", line, exc)
            orgs.pop(org_id)
            continue
        out.schools.append(school)
    users: dict[str, tuple[int, dict[str, str]]] = {}
    roles: dict[str, list[tuple[str, str]]] = {}  # user -> [(role, org)]
    for line, row in export.rows("users.csv"):
        out.rows += 1
        user_id = row.get("sourcedId", "")
        if not user_id:
            _problem(out.errors, "users.csv", line, ContractError("is required", "sourcedId"))
            continue
        users[user_id] = (line, row)
        if "roles.csv" not in export.files and row.get("role"):  # OneRoster 1.1
            for org in _split(row.get("orgSourcedIds", "")):
                roles.setdefault(user_id, []).append((row["role"], org))
    for line, row in export.rows("roles.csv"):
        out.rows += 1
        user_id, role, org = (
            row.get("userSourcedId", ""),
            row.get("role", ""),
            row.get("orgSourcedId", ""),
        )
        if user_id not in users:
            _problem(out.errors, "roles.csv", line, ContractError("no such user", "userSourcedId"))
        elif role not in ONEROSTER_ROLES:
            _problem(out.errors, "roles.csv", line, ContractError(f"unknown role {role!r}", "role"))
        elif org not in orgs:
            _problem(out.errors, "roles.csv", line, ContractError("no such org", "orgSourcedId"))
        else:
            roles.setdefault(user_id, []).append((role, org))
    for user_id, (line, row) in users.items():
        _responder(out, user_id, line, row, roles.get(user_id, []), orgs, role_map)
    out.errors.sort(key=lambda p: (p.file, p.line))
    return out


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]


def _responder(
    out: Roster,
    user_id: str,
    line: int,
    row: dict[str, str],
    held: list[tuple[str, str]],
    orgs: Mapping[str, str],
    role_map: Mapping[str, ResponderRole],
) -> None:
    explicit = row.get("metadata.lantern.role", "")
    mapped = [role_map[r] for r, _ in held if r in role_map]
    if not explicit and not mapped:
        reason = f"role {', '.join(sorted({r for r, _ in held})) or 'none'} is not a responder"
        out.skipped.append(Problem("users.csv", line, reason, "role"))
        return
    role = explicit or max(mapped, key=_SENIORITY.index)
    schools = sorted({org for _, org in held if orgs.get(org) == "school"})  # none: district
    given = row.get("preferredGivenName") or row.get("givenName", "")
    family = row.get("preferredFamilyName") or row.get("familyName", "")
    enabled = row.get("enabledUser", "true").lower() not in ("false", "0", "no")
    data: dict[str, Any] = {
        "responder_id": user_id,
        "name": " ".join(p for p in (given, family) if p),
        "role": role,
        "schools": schools,
        "email": row.get("email", ""),
        "available": enabled and row.get("status", "active") != "tobedeleted",
    }
    if row.get("metadata.lantern.skills"):
        data["skills"] = _split(row["metadata.lantern.skills"])
    try:
        out.responders.append(convert(data, AddResponderV1))
    except ContractError as exc:
        _problem(out.errors, "users.csv", line, exc)


def merged(imported: AddResponderV1, current: Mapping[str, Any] | None) -> AddResponderV1:
    """Keep what Lantern knows and OneRoster does not: skills, languages, shifts, time zone.

    Availability set in Lantern (a sick day) stands while the SIS says the person is
    active; a disabled or to-be-deleted account makes them unavailable.
    """
    if current is None:
        return imported
    return convert(
        {
            **_builtins(imported),
            "skills": list(imported.skills) or list(current.get("skills", [])),
            "languages": list(current.get("languages", [])),
            "shifts": current.get("shifts"),
            "timezone": current.get("timezone", "UTC"),
            "available": imported.available and bool(current.get("available", True)),
        },
        AddResponderV1,
    )


def _builtins(command: AddResponderV1) -> dict[str, Any]:
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(command)
    return data
