"""How responders answer pages in a replay: their recorded answer where there is one, else a model.

A policy changes who is paged and when, but not how people behave, so the
replay needs their answers.  The rules, in order:

1. **Recorded.** When the replay pages the same responder at the same point
   (the same page of the same incident: its first, second... dispatch), their
   recorded answer is reused with its recorded delay after the page: an
   acknowledgement, a decline (with its reason) or silence.  The field
   statuses they reported after acknowledging are reused the same way,
   relative to the acknowledgement.
2. **Silence that the record cut short.** A page nobody answered was
   sometimes overtaken (someone else acknowledged, the incident was cancelled).
   If the replay keeps that page answerable longer than the record did, what
   the responder would have done afterwards is drawn from the model below,
   among the answers slower than the time they had already been silent.
3. **Modelled.** Any other page draws one answer from the model.

The model is each responder's own recorded answers, as (answer, delay after
the page) pairs: acknowledged after d, declined after d, or no answer.  A
silence only counts as "no answer" when the responder had their whole deadline
(a page overtaken after ten seconds says nothing about them).  One answer is
drawn uniformly by a random generator seeded with (seed, incident, page,
responder), so a replay gives the same result whatever order it runs in.  A
responder with no recorded answers borrows those of their role, then those of
everyone; with none at all, they do not answer.

After a modelled acknowledgement, field statuses follow the incident's own
recorded field timeline (relative to whoever acknowledged it in the record),
or, when the record has none, a timeline drawn the same way from that
responder's own acknowledged pages.  Every incident with anything drawn from
the model is flagged ``modelled``, with the reasons.
"""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from services.dispatch.whatif.history import DispatchRecord, History

ACK, DECLINE, SILENT = "ack", "decline", "silent"

#: The model in a few sentences, for the result document (and whoever reads it).
MODEL = (
    "Recorded answers first: a responder paged at the same point as in the record (the same "
    "page of the same incident) answers as recorded, with the recorded delay after the page "
    "(acknowledgement, decline or silence), and reports the recorded field statuses relative "
    "to the acknowledgement. A silence the record cut short (someone else acknowledged, the "
    "incident was cancelled) that the replay keeps open longer, and every other page, draws an "
    "answer from that responder's own recorded answers (acknowledged after d, declined after d, "
    "or no answer when they had their whole deadline), slower than any silence already "
    "observed; uniformly, seeded by (seed, incident, page, responder). No record of their own: "
    "their role's, then everyone's; none at all: no answer. Field statuses after a modelled "
    "acknowledgement follow the incident's own recorded timeline, else one drawn from that "
    "responder's. Incidents with anything drawn are flagged modelled, with the reasons."
)
T = TypeVar("T")
P = TypeVar("P", "Answers", list[Any])  # a pool: answers, or field timelines


@dataclass(frozen=True)
class Answer:
    kind: str  # ack | decline | silent
    delay_s: float  # after the page; for silence, how long they had
    reason: str = ""


@dataclass(frozen=True)
class FieldStep:
    status: str
    after_s: float  # after the acknowledgement
    handed_off_to: str = ""
    note: str = ""


FieldTimeline = tuple[FieldStep, ...]


def recorded_answer(dispatch: DispatchRecord) -> Answer:
    """The answer the record holds for one page (silence: how long they could have answered)."""
    if dispatch.reaction is not None:
        delay = (dispatch.reaction.place.at - dispatch.paged_at).total_seconds()
        return Answer(dispatch.reaction.kind, delay, dispatch.reaction.reason)
    until = dispatch.answerable_until
    return Answer(SILENT, (until.at - dispatch.paged_at).total_seconds() if until else float("inf"))


def recorded_timeline(dispatch: DispatchRecord) -> FieldTimeline | None:
    """The field statuses after an acknowledgement, relative to it (None: not acknowledged)."""
    if dispatch.reaction is None or dispatch.reaction.kind != ACK:
        return None
    acked = dispatch.reaction.place.at
    return tuple(
        FieldStep(s.status, (s.place.at - acked).total_seconds(), s.handed_off_to, s.note)
        for s in dispatch.statuses
    )


class Answers:
    """One pool of recorded answers, ready for draws given how long someone has been silent."""

    def __init__(self, answers: list[Answer]) -> None:
        self.silent = [a for a in answers if a.kind == SILENT]
        self.answered = sorted((a for a in answers if a.kind != SILENT), key=lambda a: a.delay_s)
        self.delays = [a.delay_s for a in self.answered]

    def __bool__(self) -> bool:
        return bool(self.silent or self.answered)

    def draw(self, rng: random.Random, silent_for: float) -> Answer:
        """Uniformly among the silences and the answers slower than ``silent_for``."""
        start = bisect.bisect_right(self.delays, silent_for)
        count = len(self.silent) + len(self.answered) - start
        if count == 0:
            return Answer(SILENT, float("inf"))
        k = rng.randrange(count)
        return (
            self.silent[k] if k < len(self.silent) else self.answered[start + k - len(self.silent)]
        )


NO_ANSWERS = Answers([])


class Behaviour:
    """The model, built once from the whole record (every incident, not only the period)."""

    def __init__(self, history: History, roles: dict[str, str], seed: int = 0) -> None:
        self.seed = seed
        self.roles = roles
        answers: dict[str, list[Answer]] = defaultdict(list)
        self.timelines: dict[str, list[FieldTimeline]] = defaultdict(list)
        end = history.end
        for incident in history.incidents.values():
            for dispatch in incident.dispatches.values():
                answer = recorded_answer(dispatch)
                if answer.kind == SILENT:
                    had = (
                        dispatch.answerable_until.at if dispatch.answerable_until else end
                    ) or dispatch.paged_at
                    if had < dispatch.ack_deadline:
                        continue  # overtaken before their deadline: says nothing about them
                    answer = Answer(SILENT, (had - dispatch.paged_at).total_seconds())
                answers[dispatch.responder_id].append(answer)
                timeline = recorded_timeline(dispatch)
                if timeline is not None:
                    self.timelines[dispatch.responder_id].append(timeline)
        self.answers = {who: Answers(pool) for who, pool in answers.items()}
        self._by_role_answers = {
            role: Answers(pool) for role, pool in _pooled(answers, roles).items()
        }
        self._by_role_timelines = _pooled(self.timelines, roles)

    def draw_answer(
        self, responder_id: str, *, incident_id: UUID, ordinal: int, silent_for: float = 0.0
    ) -> tuple[Answer, str]:
        """One answer, and where it came from; ``silent_for``: they have not answered so far."""
        pool, source = self._pool(self.answers, self._by_role_answers, responder_id, NO_ANSWERS)
        if not pool:
            return Answer(SILENT, float("inf")), source
        rng = self._rng(incident_id, ordinal, responder_id, f"answer>{silent_for:g}")
        return pool.draw(rng, silent_for), source

    def draw_timeline(
        self, responder_id: str, *, incident_id: UUID, ordinal: int
    ) -> tuple[FieldTimeline, str]:
        no_timelines: list[FieldTimeline] = []
        pool, source = self._pool(
            self.timelines, self._by_role_timelines, responder_id, no_timelines
        )
        if not pool:
            return (), source
        return self._rng(incident_id, ordinal, responder_id, "field").choice(pool), source

    def _pool(
        self, own: dict[str, P], by_role: dict[str, P], responder_id: str, empty: P
    ) -> tuple[P, str]:
        """Their own record; else their role's; else everyone's; else ``empty``."""
        mine = own.get(responder_id)
        if mine:
            return mine, f"{responder_id}'s own record"
        role = self.roles.get(responder_id, "")
        theirs = by_role.get(role) if role else None
        if theirs:
            return theirs, f"the record of every {role}"
        everyone = by_role.get("")
        if everyone:
            return everyone, "everyone's record"
        return empty, "no record at all"

    def _rng(self, incident_id: UUID, ordinal: int, responder_id: str, what: str) -> random.Random:
        return random.Random(f"{self.seed}:{incident_id}:{ordinal}:{responder_id}:{what}")


def _pooled(own: dict[str, list[T]], roles: dict[str, str]) -> dict[str, list[T]]:
    """Everything recorded, by role, and under "" for everyone."""
    pooled: dict[str, list[T]] = defaultdict(list)
    for responder_id, items in own.items():
        pooled[roles.get(responder_id, "?")].extend(items)
        pooled[""].extend(items)
    return pooled
