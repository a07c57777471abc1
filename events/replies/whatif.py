"""Dispatch's what-if reply (``run_whatif``): a replay beside the record, self-describing.

The document names what every figure is (``metrics``), what was replayed
(``policy``, ``period``, ``schools``) and how responders were modelled
(``model``), so a client can render it without knowing dispatch's code.
``actual`` is what the record says happened; ``whatif`` the replay.
"""

from __future__ import annotations

from typing import Any

import msgspec

from events.common import Time


class WhatIfPolicyV1(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    snapshot: dict[str, Any]  # the policy as it was replayed (pinned into each response)


class WhatIfPeriodV1(msgspec.Struct, frozen=True, kw_only=True):
    since: Time | None
    until: Time | None
    record_ends: Time | None


class WhatIfModelV1(msgspec.Struct, frozen=True, kw_only=True):
    seed: int
    responders: str
    deadlines: str
    roster: str


class WhatIfMetricV1(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str
    unit: str  # count | s | ratio | responder
    better: str | None  # lower | higher | null (neither)
    description: str


class WhatIfFiguresV1(msgspec.Struct, frozen=True, kw_only=True):
    """One side's figures; each key is described in ``metrics``."""

    incidents: int
    assigned: int
    time_to_assign_p50_s: float | None
    time_to_assign_p90_s: float | None
    acknowledged: int
    time_to_ack_p50_s: float | None
    time_to_ack_p90_s: float | None
    escalation_steps: int
    escalation_steps_per_incident: float | None
    exhausted: int
    declines: int
    pages: int
    busiest_responder: str | None
    busiest_share: float | None
    pages_cv: float | None
    modelled: int


class WhatIfComparisonV1(msgspec.Struct, frozen=True, kw_only=True):
    actual: WhatIfFiguresV1
    whatif: WhatIfFiguresV1


class WhatIfSchoolV1(msgspec.Struct, frozen=True, kw_only=True):
    school_id: str
    actual: WhatIfFiguresV1
    whatif: WhatIfFiguresV1


class WhatIfResponderV1(msgspec.Struct, frozen=True, kw_only=True):
    responder_id: str
    actual_pages: int
    whatif_pages: int


class WhatIfOutcomeV1(msgspec.Struct, frozen=True, kw_only=True):
    """One incident's response on one side; each key is described in ``outcome_fields``."""

    assigned_after_s: float | None
    acknowledged_after_s: float | None
    acknowledged_by: str | None
    escalation_steps: int
    exhausted: bool
    declines: int
    pages: list[str]
    phase: str


class WhatIfIncidentV1(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: str
    school_id: str
    risk: str
    reported_at: Time
    pinned_policy: str | None
    actual: WhatIfOutcomeV1
    whatif: WhatIfOutcomeV1
    modelled: bool  # some responder behaviour was drawn from the model
    modelled_why: list[str]


class WhatIfRunV1(msgspec.Struct, frozen=True, kw_only=True):
    incidents: int  # replayed district-wide (more than reported when schools are filtered)
    read_seconds: float
    replay_seconds: float
    incidents_per_minute: int | None


class WhatIfV1(msgspec.Struct, frozen=True, kw_only=True):
    """The result of ``run_whatif`` (``kind``: ``lantern.dispatch.whatif``)."""

    kind: str
    version: int
    generated_at: Time | None
    policy: WhatIfPolicyV1
    period: WhatIfPeriodV1
    schools: list[str] | None  # null: the whole district
    actual_policies: dict[str, int]  # pinned policy version -> incidents, on the actual side
    model: WhatIfModelV1
    sides: dict[str, str]
    metrics: list[WhatIfMetricV1]
    outcome_fields: dict[str, str]
    overall: WhatIfComparisonV1
    by_school: list[WhatIfSchoolV1]
    responders: list[WhatIfResponderV1]
    replay: WhatIfRunV1
    incidents: list[WhatIfIncidentV1] | None = None  # only when asked for


MESSAGES: dict[str, type[msgspec.Struct]] = {"reply.whatif.v1": WhatIfV1}
