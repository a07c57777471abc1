"""The public wire contract cannot drift silently."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import msgspec
import pytest

from events import schema
from events.codec import ContractError, decode, encode
from events.intake import IncidentReportedV1, ReportIncidentV1
from events.subjects import SERVICES, Subjects
from events.vocabulary import Category, RiskLevel

pytestmark = pytest.mark.contract

COMMITTED = Path(__file__).resolve().parents[2] / "events" / "schemas"


def test_committed_json_schemas_match_the_code() -> None:
    """Run `make schema` after a deliberate contract change (new versions, never edits)."""
    expected = {f"{name}.json": schema.render(s) for name, s in schema.schemas().items()}
    committed = {p.name: p.read_text() for p in COMMITTED.glob("*.json")}

    assert committed == expected


def test_every_integration_event_has_a_versioned_tag() -> None:
    for name, kind in schema.CATALOGUE.items():
        assert name.rsplit(".", 1)[-1].startswith("v"), name
        tag = kind.__struct_config__.tag
        if name.split(".")[0] in SERVICES:
            assert tag == name


def test_subjects_are_distinct_and_captured_by_their_service_stream() -> None:
    subjects = Subjects("lantern")
    events = {
        "intake": [subjects.incident_reported],
        "dispatch": [subjects.responder_assigned, subjects.no_responder_eligible],
    }
    flat = [s for group in events.values() for s in group]
    assert len(flat) == len(set(flat))
    for service, names in events.items():
        wildcard = subjects.stream_subjects(service).removesuffix(">")
        assert all(n.startswith(wildcard) for n in names)
    assert not subjects.report_incident.startswith(subjects.stream_subjects("intake")[:-1])


def test_an_event_round_trips_as_json_with_its_type_tag() -> None:
    event = IncidentReportedV1(
        incident_id=uuid4(),
        school_id="s0",
        student_ref="stu-1",
        categories=[Category.SELF_HARM],
        risk=RiskLevel.HIGH,
        reported_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    )
    wire = encode(event)

    assert json.loads(wire)["type"] == "intake.incident_reported.v1"
    assert decode(wire, IncidentReportedV1) == event


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"school_id": ""}, "school_id"),
        ({"categories": ["bogus"]}, "categories[0]"),
        ({"categories": []}, "categories"),
        ({"risk": "severe"}, "risk"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_commands_are_refused_naming_the_field(patch: dict[str, object], field: str) -> None:
    body: dict[str, object] = {
        "school_id": "s0",
        "student_ref": "stu-1",
        "categories": ["other"],
        "risk": "low",
        "reporter_id": "t-1",
    }
    body.update(patch)

    with pytest.raises(ContractError) as refused:
        decode(msgspec.json.encode(body), ReportIncidentV1)

    assert refused.value.field == field


def test_a_missing_field_is_named() -> None:
    with pytest.raises(ContractError) as refused:
        decode(b'{"school_id": "s0"}', ReportIncidentV1)

    assert refused.value.field == "student_ref"


def test_malformed_json_is_refused_without_a_field() -> None:
    with pytest.raises(ContractError) as refused:
        decode(b"{not json", ReportIncidentV1)

    assert refused.value.field is None
    assert "malformed" in refused.value.reason
