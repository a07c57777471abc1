"""Specification: the what-if result document, its table and files, and the policy it takes."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from plumbing.domain import Invalid
from services.dispatch.whatif import files, report
from services.dispatch.whatif.run import policy_from_toml, run
from tests.dispatch.whatif_given import HIGH_300, T0, Given, S
from tests.replies import check_nats_reply


def story() -> Given:
    """Two incidents: one at s0 (co-a silent, co-b at +300 s acknowledges at +330 s), one at s1."""
    given = Given()
    given.report("one", T0)
    given.deadlines("one", T0 + 300 * S)
    given.ack("one", "co-b", T0 + 330 * S)
    given.report("other", T0 + 600 * S, school="s1")
    return given


SHORTER = replace(
    HIGH_300, version="high-120", ack_deadline_s={**HIGH_300.ack_deadline_s, "high": 120}
)


@pytest.mark.domain
def test_the_document_describes_every_figure_it_reports() -> None:
    document = run(story().history(), SHORTER, include_incidents=True)

    assert (document["kind"], document["version"]) == ("lantern.dispatch.whatif", 1)
    described = {m["key"] for m in document["metrics"]}
    for side in ("actual", "whatif"):
        assert set(document["overall"][side]) == described
        assert set(document["incidents"][0][side]) == set(document["outcome_fields"])
    assert document["policy"]["version"] == "high-120"
    assert document["policy"]["snapshot"]["ack_deadline_s"]["high"] == 120
    assert document["actual_policies"] == {"recorded": 2}
    assert document["overall"]["actual"]["time_to_ack_p50_s"] == 330
    assert document["overall"]["whatif"]["time_to_ack_p50_s"] == 150
    assert "same point" in document["model"]["responders"]


@pytest.mark.domain
@pytest.mark.parametrize("incidents", [True, False])
def test_the_document_fits_the_published_reply_schema_exactly(incidents: bool) -> None:
    document = run(story().history(), SHORTER, include_incidents=incidents)

    # the catalogue's reply.whatif.v1, with every object closed to unnamed fields
    assert check_nats_reply("dispatch", "run_whatif", {"Lantern-Status": "200"}, document) == 200


@pytest.mark.domain
def test_a_school_filter_narrows_the_report_but_the_whole_district_is_replayed() -> None:
    document = run(story().history(), SHORTER, schools={"s0"}, include_incidents=True)

    assert document["schools"] == ["s0"]
    assert [s["school_id"] for s in document["by_school"]] == ["s0"]
    assert [i["school_id"] for i in document["incidents"]] == ["s0"]
    assert document["overall"]["whatif"]["incidents"] == 1
    assert document["replay"]["incidents"] == 2


@pytest.mark.domain
def test_the_table_puts_actual_and_what_if_side_by_side() -> None:
    text = report.table(run(story().history(), SHORTER))

    line = next(x for x in text.splitlines() if "time to acknowledge, p50" in x)
    assert line.split()[-3:] == ["330.0", "150.0", "-180.0"]
    assert "co-b" in text


@pytest.mark.application
def test_the_files_are_csv_json_and_a_png_chart(tmp_path: Path) -> None:
    document = run(story().history(), SHORTER, include_incidents=True)

    written = files.write(document, tmp_path)

    assert sorted(p.name for p in written) == [
        "incidents.csv",
        "responders.csv",
        "summary.csv",
        "whatif.json",
        "whatif.png",
    ]
    with (tmp_path / "summary.csv").open() as handle:
        rows = {(r["scope"], r["metric"]): r for r in csv.DictReader(handle)}
    assert rows[("overall", "time_to_ack_p50_s")]["change"] == "-180.0"
    with (tmp_path / "incidents.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 2
    assert (tmp_path / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.domain
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[dispatch", "not valid TOML"),
        ('[intake]\nversion = "x"\n', "no [dispatch] section"),
        ("[dispatch.escalation]\nrepeat_limit = -1\n", "dispatch.escalation.repeat_limit"),
        ("[dispatch.ack_deadline_seconds]\nhigh = 0\n", "dispatch.ack_deadline_seconds.high"),
    ],
)
def test_a_bad_policy_is_refused_naming_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(Invalid) as refused:
        policy_from_toml(text)

    assert refused.value.field == "policy"
    assert says in refused.value.message


@pytest.mark.domain
def test_a_policy_is_read_as_lantern_up_reads_its_config() -> None:
    policy = policy_from_toml(
        '[dispatch]\nversion = "v2"\n[dispatch.ack_deadline_seconds]\nhigh = 120\n'
    )

    assert (policy.version, policy.ack_deadline_s["high"], policy.repeat_limit) == ("v2", 120, 1)
