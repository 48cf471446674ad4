"""What differs between kinds of round, in one small table per kind.

The engine asks a round's kind three things: which states the round may move
through, who receives a return when it opens, and what must be true before it
can open. Case audits register their rules from ``case_audits.kinds`` (returns
for the agencies involved with each case); self-assessments and agency
summaries use the chosen-agencies rule below until their own issues refine it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..questionnaires.models import QuestionnaireKind
from .models import Round, RoundStatus

#: a return is owed by this agency, for this case of the round (None: the agency's own return)
Recipient = tuple[int, int | None]

Moves = dict[RoundStatus, frozenset[RoundStatus]]


@dataclass(frozen=True)
class KindRules:
    """The per-kind rules the round engine follows."""

    #: the moves a round may make; anything else is refused
    moves: Moves
    #: who owes a return once the round is open
    recipients: Callable[[Round], set[Recipient]]
    #: why the round cannot open yet (empty: it can)
    open_problems: Callable[[Round], list[str]]
    #: the round is planned with a list of chosen agencies (or whole sectors)
    chooses_agencies: bool = False
    #: what the kind adds to the round's page (template variables)
    page_context: Callable[[Round], dict[str, Any]] | None = None
    #: removes what the kind added to a round in planning before the round is deleted (a case audit's cases)
    before_delete: Callable[[Round], None] | None = None
    #: what a move leaves undone that only the kind knows (cases without the panel's grade), in words
    move_consequences: Callable[[Round, RoundStatus], list[str]] | None = None
    #: a round can be started from the previous one, each agency's return opening with its last answers
    #: carried forward for review (``carry.py``)
    carries_forward: bool = False
    #: the return's pages list each criterion's links and files, and the agency attaches them (``evidence.py``)
    criterion_evidence: bool = False


#: planning -> open <-> closed -> reported
SIMPLE_MOVES: Moves = {
    RoundStatus.PLANNING: frozenset({RoundStatus.OPEN}),
    RoundStatus.OPEN: frozenset({RoundStatus.CLOSED}),
    RoundStatus.CLOSED: frozenset({RoundStatus.OPEN, RoundStatus.REPORTED}),
    RoundStatus.IN_DISCUSSION: frozenset(),
    RoundStatus.REPORTED: frozenset(),
}


def chosen_agencies(round_: Round) -> set[Recipient]:
    """One return for each agency chosen for the round."""
    return {(agency.id, None) for agency in round_.agencies}


def _needs_agencies(round_: Round) -> list[str]:
    return [] if round_.agencies else ["Choose at least one agency or sector to return before opening the round"]


_RULES: dict[QuestionnaireKind, KindRules] = {
    QuestionnaireKind.SELF_ASSESSMENT: KindRules(
        SIMPLE_MOVES,
        chosen_agencies,
        _needs_agencies,
        chooses_agencies=True,
        carries_forward=True,
        criterion_evidence=True,
    ),
    QuestionnaireKind.AGENCY_SUMMARY: KindRules(SIMPLE_MOVES, chosen_agencies, _needs_agencies, chooses_agencies=True),
}


def register_kind(kind: QuestionnaireKind, rules: KindRules) -> None:
    """A domain package states the rules of its kind of round (called once, at import)."""
    _RULES[kind] = rules


def is_round_kind(kind: QuestionnaireKind) -> bool:
    """Whether questionnaires of ``kind`` are answered in rounds of their own (a practitioner survey is answered
    beside a self-assessment round, never in one)."""
    return kind in _RULES


def kind_rules(kind: QuestionnaireKind) -> KindRules:
    """The rules of ``kind``; every kind has some."""
    return _RULES[kind]
