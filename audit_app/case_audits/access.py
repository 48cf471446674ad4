"""What case audits add to the access log: the names of cases and returns, and what belongs to a case.

Returns are named here rather than in ``rounds`` because a case audit's return is known by its case's
reference, and rounds imports nothing of case audits.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..accounts.models import Agency
from ..core.access_log import AccessKind, register_access_labels, register_case_contents
from ..extensions import db
from ..rounds.models import CriterionEvidence, Return, Round
from .models import Case, RoundCase


def _case_labels(partnership_id: int, ids: set[int]) -> dict[int, str]:
    rows = db.session.execute(
        sa.select(Case.id, Case.reference).where(Case.partnership_id == partnership_id, Case.id.in_(sorted(ids)))
    )
    return {case_id: f"Case {reference}" for case_id, reference in rows}


def _return_labels(partnership_id: int, ids: set[int]) -> dict[int, str]:
    """ "Children's social care, Neglect audit 2026 (case C-104)"; a return without a case has no brackets."""
    rows = db.session.execute(
        sa.select(Return.id, Agency.name, Round.title, Case.reference)
        .join(Round, Round.id == Return.round_id)
        .join(Agency, Agency.id == Return.agency_id)
        .outerjoin(RoundCase, RoundCase.id == Return.round_case_id)
        .outerjoin(Case, Case.id == RoundCase.case_id)
        .where(Round.partnership_id == partnership_id, Return.id.in_(sorted(ids)))
    )
    return {
        return_id: f"{agency}, {title}" + (f" (case {reference})" if reference else "")
        for return_id, agency, title, reference in rows
    }


def _case_contents(case_id: int, partnership_id: int) -> list[tuple[AccessKind, set[int]]]:
    """A case's returns in every round it was in, and the evidence files attached to them."""
    return_ids = set(
        db.session.scalars(
            sa.select(Return.id)
            .join(RoundCase, RoundCase.id == Return.round_case_id)
            .join(Case, Case.id == RoundCase.case_id)
            .where(RoundCase.case_id == case_id, Case.partnership_id == partnership_id)
        )
    )
    file_ids: set[int] = set()
    if return_ids:
        file_ids = set(
            db.session.scalars(
                sa.select(CriterionEvidence.stored_file_id).where(
                    CriterionEvidence.return_id.in_(sorted(return_ids)), CriterionEvidence.stored_file_id.is_not(None)
                )
            )
        )
    return [(AccessKind.RETURN, return_ids), (AccessKind.EVIDENCE_FILE, file_ids)]


register_access_labels(AccessKind.CASE, _case_labels)
register_access_labels(AccessKind.RETURN, _return_labels)
register_case_contents(_case_contents)
