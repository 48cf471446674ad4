"""Work queues: the filtered return list (pages and API) and the counts on each role's home page.

One definition of each filter and of "what needs action first", shared by the returns page, the API's
return list and the dashboard's counts (whose links open the list with the same filter). Every query is
built on ``permissions.returns_query``, so an agency user's counts and lists only ever hold their own
agencies' returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..accounts.models import Agency, Membership, PartnershipAgency, Role, User
from ..core import clock
from ..core.inputs import MAX_ID, whole_number
from ..core.permissions import Principal
from ..core.views import register_home_part
from ..extensions import db
from ..questionnaires.models import QuestionnaireKind
from .models import Return, ReturnGroup, ReturnStatus, Round, RoundStatus
from .permissions import PARTNERSHIP_WIDE, in_partnership, returns_query

#: the status filter's extra value: outstanding returns of a round whose due date has passed
LATE = "late"
#: the status filter's value for returns that raised an immediate safeguarding concern
CONCERN = "concern"
#: the assignment filter's value for "assigned to me"
ME = "me"
#: the longest case reference a filter takes (a case's reference is at most 40 characters)
CASE_MAX = 40

OUTSTANDING = ReturnStatus.in_group(ReturnGroup.OUTSTANDING)

STATUS_FILTER_LABELS: dict[str, str] = {
    LATE: "Late (past the due date, not returned)",
    CONCERN: "Concern raised (an immediate safeguarding concern)",
} | {status.value: status.label for status in ReturnStatus}


@dataclass(frozen=True)
class ReturnFilters:
    """What the return list is narrowed to; every field optional."""

    status: str | None = None
    round_id: int | None = None
    agency_id: int | None = None
    case: str | None = None
    assigned: str | None = None

    def as_args(self) -> dict[str, Any]:
        """The filters as query-string arguments (for page links), leaving out those not set."""
        args = {"status": self.status, "round": self.round_id, "agency": self.agency_id, "case": self.case}
        args["assigned"] = self.assigned
        return {key: value for key, value in args.items() if value not in (None, "")}

    @property
    def is_set(self) -> bool:
        return bool(self.as_args())


def parse_return_filters(args: Mapping[str, str]) -> tuple[ReturnFilters, dict[str, str]]:
    """The filters of a query string (``status``, ``round``, ``agency``, ``case``, ``assigned``) and the problems
    with them, by field name. A blank value counts as not given."""
    problems: dict[str, str] = {}

    def text(name: str) -> str | None:
        value = (args.get(name) or "").strip()
        return value or None

    status = text("status")
    if status is not None and status not in STATUS_FILTER_LABELS:
        problems["status"] = "Choose a status from the list"
        status = None
    ids: dict[str, int | None] = {}
    for name, what in (("round", "a round"), ("agency", "an agency")):
        raw = text(name)
        ids[name] = None
        if raw is not None:
            number = whole_number(raw, low=1, high=MAX_ID)
            if number is None:
                problems[name] = f"Choose {what} from the list"
            ids[name] = number
    case = text("case")
    if case is not None and len(case) > CASE_MAX:
        problems["case"] = f"A case reference is {CASE_MAX} characters or fewer"
        case = None
    assigned = text("assigned")
    if assigned is not None and assigned != ME:
        problems["assigned"] = "Assigned can only be 'me'"
        assigned = None
    filters = ReturnFilters(status=status, round_id=ids["round"], agency_id=ids["agency"], case=case, assigned=assigned)
    return filters, problems


def _is_late() -> sa.ColumnElement[bool]:
    return sa.and_(Return.status.in_(OUTSTANDING), Round.due_on.is_not(None), Round.due_on < clock.today())


def filtered_returns(p: Principal, filters: ReturnFilters) -> sa.Select:
    """The returns this principal may see in rounds past planning, narrowed by ``filters``, needing action first.

    Joined with the round (and the case, for the case filter); ordered by :func:`action_order`.
    """
    query = returns_query(p).where(Round.status != RoundStatus.PLANNING)
    if filters.status == LATE:
        query = query.where(_is_late())
    elif filters.status == CONCERN:
        query = query.where(Return.concern_raised_at.is_not(None))
    elif filters.status:
        query = query.where(Return.status == ReturnStatus(filters.status))
    if filters.round_id is not None:
        query = query.where(Return.round_id == filters.round_id)
    if filters.agency_id is not None:
        query = query.where(Return.agency_id == filters.agency_id)
    if filters.case:
        # the case's reference, whole or in part, whatever its case
        escaped = filters.case.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        # The engine imports no workflow: a case audit's case is reached through the return's relationships.
        round_case = Return.round_case.property.mapper.class_
        case = round_case.case.property.mapper.class_
        query = query.where(
            Return.round_case.has(round_case.case.has(sa.func.lower(case.reference).like(f"%{escaped}%", escape="\\")))
        )
    if filters.assigned == ME:
        query = query.where(Return.assigned_to_id == (p.user_id or -1))
    return query.order_by(*action_order(p))


def action_order(p: Principal) -> list[Any]:
    """What needs this person first: for the QA group, returns that raised a concern, then those waiting for
    review, then late ones; for an
    agency, returns sent back, then (for its lead) those awaiting sign-off, then late, then in progress and
    not started; then the earliest due date; the returned and declined last."""
    if p.has(*PARTNERSHIP_WIDE):
        rank = sa.case(
            (Return.concern_raised_at.is_not(None), 0),
            (Return.status == ReturnStatus.SUBMITTED, 1),
            (_is_late(), 2),
            (Return.status.in_(OUTSTANDING), 3),
            else_=4,
        )
    else:
        lead_agencies = sorted(p.agency_ids(Role.AGENCY_LEAD)) or [-1]
        rank = sa.case(
            (Return.status == ReturnStatus.CHANGES_REQUESTED, 0),
            (sa.and_(Return.status == ReturnStatus.READY_FOR_SIGN_OFF, Return.agency_id.in_(lead_agencies)), 1),
            (sa.and_(_is_late(), Return.status != ReturnStatus.READY_FOR_SIGN_OFF), 2),
            (Return.status.in_((ReturnStatus.IN_PROGRESS, ReturnStatus.NOT_STARTED)), 3),
            (Return.status == ReturnStatus.READY_FOR_SIGN_OFF, 4),
            else_=5,
        )
    # rounds without a due date after those with one, on SQLite and PostgreSQL alike
    return [rank, Round.due_on.is_(None), Round.due_on, Return.id]


# -- the dashboard's counts --


@dataclass(frozen=True)
class Count:
    """One figure on the home page and the filtered list it opens."""

    key: str
    label: str
    count: int
    args: dict[str, Any]
    #: the list it opens
    endpoint: str = "rounds.return_list"


def return_counts(p: Principal) -> dict[str, int]:
    """The principal's returns (in rounds past planning) by status, with ``late`` and ``assigned_to_me``:
    one grouped query, whatever the number of returns."""
    late = sa.case((_is_late(), 1), else_=0)
    mine = sa.case((Return.assigned_to_id == (p.user_id or -1), 1), else_=0)
    concern = sa.case((Return.concern_raised_at.is_not(None), 1), else_=0)
    base = returns_query(p).where(Round.status != RoundStatus.PLANNING)
    rows = db.session.execute(
        base.with_only_columns(
            Return.status, late.label("late"), mine.label("mine"), concern.label("concern"), sa.func.count()
        )
        .group_by(Return.status, late, mine, concern)
        .order_by(None)
    ).all()
    counts: dict[str, int] = {status.value: 0 for status in ReturnStatus} | {
        LATE: 0,
        CONCERN: 0,
        "assigned_to_me": 0,
    }
    for status, is_late, is_mine, has_concern, number in rows:
        counts[ReturnStatus(status).value] += number
        if is_late:
            counts[LATE] += number
        if has_concern:
            counts[CONCERN] += number
        if is_mine and ReturnStatus(status).group == ReturnGroup.OUTSTANDING:
            counts["assigned_to_me"] += number
    return counts


def round_counts(partnership_id: int | None) -> dict[tuple[str, str], int]:
    """The partnership's rounds by (status, kind): one grouped query."""
    rows = db.session.execute(
        sa.select(Round.status, Round.kind, sa.func.count())
        .where(in_partnership(partnership_id))
        .group_by(Round.status, Round.kind)
    ).all()
    return {(RoundStatus(status).value, QuestionnaireKind(kind).value): number for status, kind, number in rows}


def agencies_without_staff(partnership_id: int | None) -> list[Agency]:
    """Active agencies of the partnership where nobody active holds the auditor or agency lead role there:
    nobody can complete their returns."""
    staffed = (
        sa.select(Membership.agency_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.partnership_id == partnership_id,
            Membership.role.in_([Role.AUDITOR, Role.AGENCY_LEAD]),
            Membership.agency_id.is_not(None),
            User.is_active.is_(True),
        )
    )
    return list(
        db.session.scalars(
            sa.select(Agency)
            .join(PartnershipAgency, PartnershipAgency.agency_id == Agency.id)
            .where(
                PartnershipAgency.partnership_id == partnership_id,
                PartnershipAgency.is_active.is_(True),
                Agency.id.not_in(staffed),
            )
            .order_by(Agency.name)
        )
    )


def dashboard(p: Principal) -> dict[str, Any]:
    """The round engine's part of the home page: for each role the principal holds, the counts of what needs
    them now, each with the filtered list it links to. A fixed number of queries, whatever the data."""
    if p.partnership_id is None or not p.roles:
        return {}
    context: dict[str, Any] = {}
    agency_roles = p.has(Role.AUDITOR, Role.AGENCY_LEAD)
    qa = p.has(Role.QA_MEMBER, Role.ADMIN)
    if agency_roles or qa:
        counts = return_counts(p)
    if agency_roles:
        context["agency_counts"] = [
            *(
                [Count("assigned", "Assigned to you", counts["assigned_to_me"], {"assigned": ME})]
                if p.has(Role.AUDITOR)
                else []
            ),
            Count("not_started", "To start", counts["not_started"], {"status": "not_started"}),
            Count("in_progress", "In progress", counts["in_progress"], {"status": "in_progress"}),
            Count(
                "changes_requested", "Changes requested", counts["changes_requested"], {"status": "changes_requested"}
            ),
            Count(LATE, "Overdue", counts[LATE], {"status": LATE}),
        ]
        if p.has(Role.AGENCY_LEAD):
            context["lead_counts"] = [
                Count(
                    "ready_for_sign_off",
                    "Awaiting your sign-off",
                    counts["ready_for_sign_off"],
                    {"status": "ready_for_sign_off"},
                )
            ]
    if p.has(Role.QA_MEMBER, Role.ADMIN, Role.SCRUTINEER):
        by_round = round_counts(p.partnership_id)
    if qa:
        ready = sum(
            n
            for (status, kind), n in by_round.items()
            if status == RoundStatus.CLOSED.value and kind == QuestionnaireKind.CASE_AUDIT.value
        )
        context["qa_counts"] = [
            Count(CONCERN, "Concerns raised", counts[CONCERN], {"status": CONCERN}),
            Count("submitted", "Awaiting review", counts["submitted"], {"status": "submitted"}),
            Count(LATE, "Late returns", counts[LATE], {"status": LATE}),
            Count(
                "ready_for_discussion",
                "Case audits ready for discussion",
                ready,
                {"status": "closed", "kind": "case_audit"},
                "rounds.round_list",
            ),
        ]
    if p.has(Role.ADMIN):
        context["admin_round_counts"] = [
            Count(
                status.value,
                status.label,
                sum(n for (s, _), n in by_round.items() if s == status.value),
                {"status": status.value},
                "rounds.round_list",
            )
            for status in RoundStatus
        ]
        context["agencies_without_staff"] = agencies_without_staff(p.partnership_id)
    return context


def filter_choices(p: Principal) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The rounds and agencies the return list can be narrowed to: those of the returns this principal sees."""
    visible = returns_query(p).where(Round.status != RoundStatus.PLANNING)
    rounds = db.session.execute(
        sa.select(Round.id, Round.title)
        .where(Round.id.in_(visible.with_only_columns(Return.round_id)))
        .order_by(Round.title, Round.id)
    ).all()
    agencies = db.session.execute(
        sa.select(Agency.id, Agency.name)
        .where(Agency.id.in_(visible.with_only_columns(Return.agency_id)))
        .order_by(Agency.name)
    ).all()
    return [(r.id, r.title) for r in rounds], [(a.id, a.name) for a in agencies]


register_home_part(dashboard)
