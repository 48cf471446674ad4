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


def load_case_agencies(round_: Round) -> None:
    """Load the agencies of every case of a stored round in one query (not one per case); the round's cases
    and their agencies are then read from memory."""
    if round_.id is None:
        return
    from sqlalchemy import inspect, select
    from sqlalchemy.orm import selectinload

    from ..extensions import db
    from .models import RoundCase

    state = inspect(round_)
    if "cases" in state.dict and all("agencies" in inspect(rc).dict for rc in round_.cases):
        return
    cases = db.session.scalars(
        select(RoundCase)
        .where(RoundCase.round_id == round_.id)
        .order_by(RoundCase.id)
        .options(selectinload(RoundCase.agencies))
    ).all()
    if "cases" not in state.dict:
        from sqlalchemy.orm.attributes import set_committed_value

        set_committed_value(round_, "cases", list(cases))


def case_recipients(round_: Round) -> set[Recipient]:
    """Every agency involved with every case of the round owes a return on that case."""
    load_case_agencies(round_)
    return {(agency.id, round_case.id) for round_case in round_.cases for agency in round_case.agencies}


def _open_problems(round_: Round) -> list[str]:
    if not round_.cases:
        return ["Add at least one case before opening the round"]
    if any(not round_case.agencies for round_case in round_.cases):
        return ["Tick the agencies involved with every case before opening the round"]
    return []


def _remove_cases(round_: Round) -> None:
    """Before a planning round is deleted: take its cases out (the cases themselves stay, as on removal)."""
    from .services import remove_case

    for round_case in list(round_.cases):
        remove_case(round_case)


def _move_consequences(round_: Round, to: RoundStatus) -> list[str]:
    if to != RoundStatus.REPORTED:
        return []
    import sqlalchemy as sa

    from ..extensions import db
    from .models import CaseJudgement, RoundCase

    graded = (
        sa.select(CaseJudgement.round_case_id)
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .where(RoundCase.round_id == round_.id, CaseJudgement.section_key == "")
        .where(CaseJudgement.grade_level_id.is_not(None))
        .scalar_subquery()
    )
    ungraded = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RoundCase)
        .where(RoundCase.round_id == round_.id, RoundCase.id.not_in(graded))
    )
    if not ungraded:
        return ["Every case has the panel's agreed grade. The round's findings and report become final."]
    return [
        f"{ungraded} {'case has' if ungraded == 1 else 'cases have'} no agreed grade from the panel: "
        "the report will show them as not graded, and a reported round cannot be changed."
    ]


def _page_context(round_: Round) -> dict[str, Any]:
    from .views import page_context

    return page_context(round_)


register_kind(
    QuestionnaireKind.CASE_AUDIT,
    KindRules(
        CASE_AUDIT_MOVES,
        case_recipients,
        _open_problems,
        page_context=_page_context,
        before_delete=_remove_cases,
        move_consequences=_move_consequences,
    ),
)
