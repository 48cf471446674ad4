"""The case-audit kind of round: returns for the agencies involved with each case, and a discussion stage."""

from __future__ import annotations

from typing import Any

from ..questionnaires.models import QuestionnaireKind
from ..rounds.kinds import KindRules, Recipient, register_kind
from ..rounds.models import Round, RoundStatus

#: planning -> open <-> closed -> in discussion -> reported
CASE_AUDIT_MOVES = {
    RoundStatus.PLANNING: frozenset({RoundStatus.OPEN}),
    RoundStatus.OPEN: frozenset({RoundStatus.CLOSED}),
    RoundStatus.CLOSED: frozenset({RoundStatus.OPEN, RoundStatus.IN_DISCUSSION}),
    RoundStatus.IN_DISCUSSION: frozenset({RoundStatus.REPORTED}),
    RoundStatus.REPORTED: frozenset(),
}


def case_recipients(round_: Round) -> set[Recipient]:
    """Every agency involved with every case of the round owes a return on that case."""
    return {(agency.id, round_case.id) for round_case in round_.cases for agency in round_case.agencies}


def _open_problems(round_: Round) -> list[str]:
    if not round_.cases:
        return ["Add at least one case before opening the round"]
    if any(not round_case.agencies for round_case in round_.cases):
        return ["Tick the agencies involved with every case before opening the round"]
    return []


def _page_context(round_: Round) -> dict[str, Any]:
    from .views import page_context

    return page_context(round_)


register_kind(
    QuestionnaireKind.CASE_AUDIT,
    KindRules(CASE_AUDIT_MOVES, case_recipients, _open_problems, page_context=_page_context),
)
