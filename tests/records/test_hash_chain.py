"""Hash-chain specifications: every kind of tampering is named, untouched history passes.

Given raw records, their chain and a signed checkpoint, when a record is
modified, deleted, reordered, inserted or the tail cut off, then verification
names the store, the position and the kind of break.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from plumbing.integrity import verify as ig
from plumbing.integrity.verify import RawRecord

pytestmark = pytest.mark.domain

KEY = b"test-key"


def records(n: int) -> list[RawRecord]:
    return [
        RawRecord(i, f"agg-{i % 3}", i, "svc.domain:Thing.Happened", f'{{"n": {i}}}'.encode())
        for i in range(1, n + 1)
    ]


def chained(rs: list[RawRecord]) -> tuple[list[ig.ChainLink], ig.Checkpoint]:
    links = ig.extend(ig.GENESIS, rs)
    head = links[-1]
    signature = ig.sign(KEY, "svc", head.position, head.chain_hash, len(links))
    return links, ig.Checkpoint("svc", head.position, head.chain_hash, len(links), signature)


def kinds(verdict: ig.Verdict) -> list[tuple[int, str]]:
    return [(b.position, b.kind) for b in verdict.breaks]


def test_untouched_history_is_intact() -> None:
    rs = records(6)
    links, checkpoint = chained(rs)

    verdict = ig.verify("svc", rs, links, [checkpoint], KEY)

    assert verdict.intact
    assert (verdict.records, verdict.chained_to, verdict.anchored_to) == (6, 6, 6)


def test_a_modified_record_is_named() -> None:
    rs = records(6)
    links, checkpoint = chained(rs)
    rs[2] = replace(rs[2], state=b'{"n": 999}')

    assert kinds(ig.verify("svc", rs, links, [checkpoint], KEY)) == [(3, ig.MODIFIED)]


def test_a_deleted_record_is_named() -> None:
    rs = records(6)
    links, checkpoint = chained(rs)
    del rs[1]

    assert kinds(ig.verify("svc", rs, links, [checkpoint], KEY)) == [(2, ig.DELETED)]


def test_two_swapped_records_are_named_as_reordered() -> None:
    rs = records(6)
    links, checkpoint = chained(rs)
    a, b = rs[2], rs[3]
    rs[2] = replace(b, position=3)
    rs[3] = replace(a, position=4)

    assert kinds(ig.verify("svc", rs, links, [checkpoint], KEY)) == [
        (3, ig.REORDERED),
        (4, ig.REORDERED),
    ]


def test_a_record_inserted_into_a_gap_is_named() -> None:
    rs = records(6)
    del rs[2]  # position 3 never existed (a sequence gap on PostgreSQL)
    links, checkpoint = chained(rs)
    rs.insert(2, RawRecord(3, "agg-x", 1, "svc.domain:Thing.Happened", b"{}"))

    assert kinds(ig.verify("svc", rs, links, [checkpoint], KEY)) == [(3, ig.INSERTED)]


def test_a_cut_off_tail_is_named_even_with_its_chain_rows_gone() -> None:
    rs = records(6)
    links, checkpoint = chained(rs)

    verdict = ig.verify("svc", rs[:4], links[:4], [checkpoint], KEY)

    assert kinds(verdict) == [(6, ig.TRUNCATED)]


def test_a_cut_off_tail_with_its_chain_rows_left_is_named_per_record() -> None:
    rs = records(6)
    links, checkpoint = chained(rs)

    verdict = ig.verify("svc", rs[:4], links, [checkpoint], KEY)

    assert kinds(verdict) == [(5, ig.TRUNCATED), (6, ig.TRUNCATED)]


def test_records_after_the_chain_head_are_pending_not_broken() -> None:
    rs = records(6)
    links, checkpoint = chained(rs[:4])

    verdict = ig.verify("svc", rs, links, [checkpoint], KEY)

    assert verdict.intact
    assert verdict.pending == 2


def test_a_rewritten_chain_is_caught_by_the_signed_anchor() -> None:
    rs = records(6)
    _, checkpoint = chained(rs)
    rs[1] = replace(rs[1], state=b"forged")
    relinked = ig.extend(ig.GENESIS, rs)  # the forger recomputes every hash

    assert kinds(ig.verify("svc", rs, relinked, [checkpoint], KEY)) == [(6, ig.ANCHOR_MISMATCH)]


def test_a_checkpoint_signed_with_another_key_is_refused() -> None:
    rs = records(3)
    links, checkpoint = chained(rs)

    verdict = ig.verify("svc", rs, links, [checkpoint], b"another key")

    assert kinds(verdict) == [(3, ig.BAD_SIGNATURE)]


def test_an_edited_chain_row_is_named() -> None:
    rs = records(4)
    links, _ = chained(rs)
    links[1] = replace(links[1], chain_hash="f" * 64)

    found = kinds(ig.verify("svc", rs, links, [], KEY))

    assert (2, ig.CHAIN_ALTERED) in found


def test_the_record_hash_does_not_depend_on_the_position() -> None:
    r = records(1)[0]

    assert ig.record_hash(r) == ig.record_hash(replace(r, position=99))
    assert ig.record_hash(r) != ig.record_hash(replace(r, originator_version=2))


def test_a_record_slipped_in_between_by_shifting_the_rest_is_named_as_inserted() -> None:
    rs = records(5)
    links, checkpoint = chained(rs)
    forged = RawRecord(3, "agg-x", 7, "svc.domain:Thing.Happened", b"forged")
    shifted = [*rs[:2], forged, *(replace(r, position=r.position + 1) for r in rs[2:])]

    found = kinds(ig.verify("svc", shifted, links, [checkpoint], KEY))

    assert found[0] == (3, ig.INSERTED)
    assert found[1:] == [(4, ig.REORDERED), (5, ig.REORDERED)]


def test_chained_history_without_any_anchor_is_not_vouched_for() -> None:
    rs = records(3)
    links, _ = chained(rs)

    assert kinds(ig.verify("svc", rs, links, [], KEY, require_anchor=True)) == [(3, ig.UNANCHORED)]
    assert ig.verify("svc", rs, links, [], KEY).intact  # offline: chains only
