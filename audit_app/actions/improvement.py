"""An agency's own improvement actions on its self-assessment return, joining the composite action plan.

The link to the plan: one recommendation per return ("Improvement actions from <agency>'s self-assessment"),
made on the agency's first action, with source "round" and the round's source key ("round:<id>"), addressed
to the agency and tied to the return by ``Recommendation.return_id``. So the plan shows the actions under the
round, with the agency as owner agency, and every existing rule of the plan (filters, counts, reminders, the
PDF and XLSX) holds for them without a new kind of source.

Who adds them: the auditors and leads of the return's agency (their own agency's return only), and the QA
group and admins. Who updates them afterwards (progress, evidence, due date): as for any action, plus every
auditor and lead of the owner agency (``permissions.can_update_action``).

Services flush; views commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..accounts.models import Membership, User
from ..core import clock
from ..core.errors import FieldErrors, NotAllowedError
from ..core.forms import ConfirmForm, id_value, posted_date
from ..core.permissions import Principal, current_principal
from ..core.roles import Role
from ..extensions import db
from ..questionnaires.models import QuestionnaireKind
from ..rounds import evidence as criterion_evidence
from ..rounds.models import Return, ReturnGroup, RoundStatus
from ..rounds.permissions import get_return_or_404
from . import services
from .models import Action, Recommendation, SourceKind
from .permissions import can_add_improvement_action

bp = Blueprint("improvement", __name__)

#: the round states in which an agency may add improvement actions
ADDING_IN = (RoundStatus.OPEN, RoundStatus.CLOSED)


@dataclass
class ImprovementIn:
    """An improvement action as given (page or API)."""

    title: str = ""
    owner_user_id: int | None = None
    due_on: date | None = None
    #: the criterion it answers ("" for none)
    question_key: str = ""


def takes_improvement_actions(ret: Return) -> bool:
    """Self-assessment returns of an agency (not a case's return) take the agency's own improvement actions."""
    return ret.round.kind == QuestionnaireKind.SELF_ASSESSMENT and ret.round_case_id is None


def owner_choices(ret: Return) -> list[User]:
    """The people of the return's agency (auditors and leads, in the round's partnership) who can own its actions."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.is_active.is_(True),
                User.id.in_(
                    sa.select(Membership.user_id).where(
                        Membership.agency_id == ret.agency_id,
                        Membership.partnership_id == ret.round.partnership_id,
                        Membership.role.in_((Role.AUDITOR, Role.AGENCY_LEAD)),
                    )
                ),
            )
            .order_by(User.name, User.id)
        )
    )


def return_recommendation(ret: Return) -> Recommendation | None:
    """The recommendation holding the return's improvement actions, if any action was added yet."""
    return db.session.scalar(sa.select(Recommendation).where(Recommendation.return_id == ret.id))


def _recommendation_for(ret: Return) -> Recommendation:
    rec = return_recommendation(ret)
    if rec is not None:
        return rec
    given = services.RecommendationIn(
        source=SourceKind.ROUND.value,
        round_id=ret.round_id,
        text=f"Improvement actions from {ret.agency.name}'s self-assessment",
        agency_ids=[ret.agency_id],
    )
    rec = services.create_recommendation(ret.round.partnership_id, given)
    rec.return_id = ret.id
    db.session.flush()
    return rec


def add_improvement_action(ret: Return, given: ImprovementIn) -> Action:
    """Add one of the agency's own improvement actions to its return, under the round in the plan. Every bad
    field named at once (400); refused (409) on a return or round that takes none now."""
    if not takes_improvement_actions(ret):
        raise NotAllowedError("Only an agency's self-assessment return takes its own improvement actions")
    if ret.round.status not in ADDING_IN:
        raise NotAllowedError(f"The round is {ret.round.status.label.lower()}: improvement actions cannot be added")
    if ret.status.group == ReturnGroup.DECLINED:
        raise NotAllowedError(f"This return is {ret.status.label.lower()}: improvement actions cannot be added")
    problems: dict[str, list[str]] = {}
    title = (given.title or "").strip()
    if not title:
        problems.setdefault("title", []).append("Enter what will be done")
    elif len(title) > services.TITLE_LIMIT:
        problems.setdefault("title", []).append(f"What will be done must be {services.TITLE_LIMIT} characters or fewer")
    if given.owner_user_id is None:
        problems.setdefault("owner_user_id", []).append("Choose who owns the action, from your agency")
    elif given.owner_user_id not in {u.id for u in owner_choices(ret)}:
        problems.setdefault("owner_user_id", []).append("Choose an owner who works for the agency")
    if given.due_on is None:
        problems.setdefault("due_on", []).append("Enter the date the action is due, as day, month and year")
    elif given.due_on < clock.today():
        problems.setdefault("due_on", []).append("The due date must be today or in the future")
    key = (given.question_key or "").strip()
    if key and criterion_evidence.criterion(ret, key) is None:
        problems.setdefault("question_key", []).append("Choose a criterion this return is asked, or none")
    if problems:
        raise FieldErrors(problems)
    rec = _recommendation_for(ret)
    action = services.add_action(
        rec,
        services.ActionIn(
            title=title, owner_user_id=given.owner_user_id, owner_agency_id=ret.agency_id, due_on=given.due_on
        ),
    )
    action.question_key = key
    db.session.flush()
    return action


def improvement_actions(ret: Return) -> list[Action]:
    """The return's improvement actions, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Action)
            .join(Recommendation, Recommendation.id == Action.recommendation_id)
            .where(Recommendation.return_id == ret.id)
            .order_by(Action.id)
        )
    )


def criterion_text(ret: Return, key: str) -> str:
    question = criterion_evidence.criterion(ret, key) if key else None
    return question.text if question is not None else ""


# -- pages --


@bp.app_template_global()
def improvement_actions_of(ret: Return) -> dict[str, Any] | None:
    """For the return's page: its improvement actions and whether the viewer may add one (None when the return
    takes none)."""
    if not takes_improvement_actions(ret):
        return None
    p = current_principal()
    return {
        "actions": improvement_actions(ret),
        "can_add": can_add_improvement_action(p, ret) and ret.round.status in ADDING_IN,
        "criterion_text": lambda key: criterion_text(ret, key),
    }


def _sa_return_or_404(p: Principal, sa_return_id: int) -> Return:
    ret = get_return_or_404(p, sa_return_id)
    if not takes_improvement_actions(ret):
        abort(404)
    return ret


def _posted(form: Any, errors: dict[str, str]) -> ImprovementIn:
    owner = None
    raw = (form.get("owner_user_id") or "").strip()
    if raw:
        try:
            owner = id_value(raw)
        except ValueError:
            errors["owner_user_id"] = "Choose an owner who works for the agency"
    due_on, problem = posted_date(form, "due_on", "due date")
    if problem:
        errors["due_on"] = problem
    return ImprovementIn(
        title=form.get("title") or "", owner_user_id=owner, due_on=due_on, question_key=form.get("question_key") or ""
    )


@bp.route("/returns/<int:sa_return_id>/improvement-actions/new", methods=["GET", "POST"])
@login_required
def improvement_action_new(sa_return_id: int):
    """Add one of the agency's own improvement actions: what, who of the agency, by when, for which criterion."""
    p = current_principal()
    ret = _sa_return_or_404(p, sa_return_id)
    if not can_add_improvement_action(p, ret):
        abort(403)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400, "The form has expired: go back, reload the page and try again")
        given = _posted(request.form, errors)
        try:
            action = add_improvement_action(ret, given)
        except NotAllowedError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for("rounds.return_detail", return_id=ret.id), code=303)
        except FieldErrors as error:
            errors = {name: problems[0] for name, problems in error.fields.items()} | errors
        if errors:
            db.session.rollback()
            ret = _sa_return_or_404(p, sa_return_id)
            status = 400
        else:
            db.session.commit()
            flash(f"Improvement action added to the action plan: {action.title}", "success")
            return redirect(url_for("rounds.return_detail", return_id=ret.id, _anchor="improvement-actions"), code=303)
    return render_template(
        "actions/improvement_action_form.html",
        ret=ret,
        owners=owner_choices(ret),
        criteria=criterion_evidence_questions(ret),
        values=request.form if request.method == "POST" else {},
        errors=errors,
    ), status


def criterion_evidence_questions(ret: Return) -> list[Any]:
    from ..rounds.services import applicable_questions

    return applicable_questions(ret)
