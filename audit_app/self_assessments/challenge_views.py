"""Challenge events: per agency, the date, who attended, the questions asked and what was agreed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.models import Agency
from ..actions import services as actions
from ..actions.forms import field_errors, posted_action, posted_id
from ..actions.models import Rag
from ..core.errors import FieldErrors
from ..core.forms import ConfirmForm, check_csrf, posted_date
from ..core.permissions import allowed_or_403, current_principal
from ..extensions import db
from ..questionnaires import learning_themes_tags as tags
from ..rounds.models import Return, Round
from . import challenges
from .models import ChallengeEvent
from .permissions import (
    can_record_challenges,
    can_view_challenges,
    challenge_scope,
    get_challenge_or_404,
    get_sa_round_or_404,
)

bp = Blueprint("challenges", __name__)


def _posted_challenge(form: Any, errors: dict[str, str]) -> challenges.ChallengeIn:
    held_on, problem = posted_date(form, "held_on", "date the challenge event was held")
    if problem:
        errors["held_on"] = problem
    try:
        agency_id = posted_id(form.get("agency_id"))
    except ValueError:
        errors["agency_id"] = "Choose an agency of this partnership asked to return to the round"
        agency_id = None
    theme_ids, problem = tags.posted_theme_ids(form)
    if problem:
        errors[tags.FIELD] = problem
    return challenges.ChallengeIn(
        agency_id=agency_id,
        held_on=held_on,
        attendees=form.get("attendees") or "",
        questions=form.get("questions") or "",
        agreed=form.get("agreed") or "",
        learning_theme_ids=theme_ids,
    )


def _chosen(form: Any) -> list[int]:
    """The theme ids ticked on a form shown again after an error."""
    return tags.posted_theme_ids(form)[0]


def _agencies(round_: Round, partnership_id: int) -> list[Agency]:
    ids = challenges.challengeable_agency_ids(round_, partnership_id)
    return sorted((a for a in round_.agencies if a.id in ids), key=lambda a: a.name.casefold())


@bp.get("/rounds/<int:sa_round_id>/challenge-events")
@login_required
def challenge_list(sa_round_id: int):
    """A self-assessment round's challenge events, by agency (an agency user sees their own agency's)."""
    p = current_principal()
    allowed_or_403(can_view_challenges(p))
    round_ = get_sa_round_or_404(p, sa_round_id)
    scope = challenge_scope(p)
    events = challenges.challenges_of(round_.id, p.partnership_id, scope)
    agencies = _agencies(round_, p.partnership_id)
    if scope is not None:
        agencies = [a for a in agencies if a.id in scope]
    by_agency: dict[int, list[ChallengeEvent]] = {}
    for event in events:
        by_agency.setdefault(event.agency_id, []).append(event)
    returns = {
        r.agency_id: r
        for r in db.session.scalars(
            sa.select(Return).where(
                Return.round_id == round_.id, Return.agency_id.in_([a.id for a in agencies] or [-1])
            )
        )
    }
    return render_template(
        "self_assessments/challenge_list.html",
        round=round_,
        agencies=agencies,
        by_agency=by_agency,
        returns=returns,
        can_record=can_record_challenges(p),
    )


@bp.route("/rounds/<int:sa_round_id>/challenge-events/new", methods=["GET", "POST"])
@login_required
def challenge_new(sa_round_id: int):
    """Record a challenge event with one of the partnership's agencies in the round."""
    p = current_principal()
    allowed_or_403(can_record_challenges(p))
    round_ = get_sa_round_or_404(p, sa_round_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        given = _posted_challenge(request.form, errors)
        try:
            event = challenges.record_challenge(round_, p.partnership_id, given, by=current_user.id)
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        if errors:
            db.session.rollback()
            round_ = get_sa_round_or_404(p, sa_round_id)
        else:
            db.session.commit()
            flash(f"Challenge event with {event.agency.name} recorded", "success")
            return redirect(url_for("challenges.challenge_detail", challenge_id=event.id), 303)
    values = request.form if request.method == "POST" else {"agency_id": request.args.get("agency_id", "")}
    return render_template(
        "self_assessments/challenge_form.html",
        round=round_,
        event=None,
        agencies=_agencies(round_, p.partnership_id),
        values=values,
        themes=tags.offered_themes(p.partnership_id),
        chosen_theme_ids=_chosen(request.form) if request.method == "POST" else [],
        errors=errors,
    ), (400 if errors else 200)


@bp.get("/challenge-events/<int:challenge_id>")
@login_required
def challenge_detail(challenge_id: int):
    """A challenge event: who attended, what was asked and agreed, and the actions it agreed."""
    p = current_principal()
    allowed_or_403(can_view_challenges(p))
    event = get_challenge_or_404(p, challenge_id)
    ret = db.session.scalar(
        sa.select(Return).where(Return.round_id == event.round_id, Return.agency_id == event.agency_id).limit(1)
    )
    return render_template(
        "self_assessments/challenge_detail.html",
        event=event,
        ret=ret,
        can_record=can_record_challenges(p),
        delete_form=ConfirmForm(),
    )


@bp.route("/challenge-events/<int:challenge_id>/edit", methods=["GET", "POST"])
@login_required
def challenge_edit(challenge_id: int):
    """Change a challenge event's date, attendees, questions or what was agreed."""
    p = current_principal()
    allowed_or_403(can_record_challenges(p))
    event = get_challenge_or_404(p, challenge_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        given = _posted_challenge(request.form, errors)
        try:
            challenges.update_challenge(event, given)
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        if errors:
            db.session.rollback()
            event = get_challenge_or_404(p, challenge_id)
        else:
            db.session.commit()
            flash("Challenge event saved", "success")
            return redirect(url_for("challenges.challenge_detail", challenge_id=event.id), 303)
        values: Any = request.form
    else:
        values = {
            "held_on-day": str(event.held_on.day),
            "held_on-month": str(event.held_on.month),
            "held_on-year": str(event.held_on.year),
            "attendees": event.attendees,
            "questions": event.questions,
            "agreed": event.agreed,
        }
    return render_template(
        "self_assessments/challenge_form.html",
        round=event.round,
        event=event,
        agencies=[event.agency],
        values=values,
        themes=tags.offered_themes(event.partnership_id, event.themes),
        chosen_theme_ids=_chosen(request.form) if request.method == "POST" else [t.id for t in event.themes],
        errors=errors,
    ), (400 if errors else 200)


@bp.post("/challenge-events/<int:challenge_id>/delete")
@login_required
def challenge_delete(challenge_id: int):
    """Delete a challenge event recorded by mistake (the actions it agreed stay on the plan)."""
    p = current_principal()
    allowed_or_403(can_record_challenges(p))
    event = get_challenge_or_404(p, challenge_id)
    check_csrf()
    round_id, name = event.round_id, event.agency.name
    challenges.delete_challenge(event)
    db.session.commit()
    flash(f"Challenge event with {name} deleted", "success")
    return redirect(url_for("challenges.challenge_list", sa_round_id=round_id), 303)


@bp.route("/challenge-events/<int:challenge_id>/actions/new", methods=["GET", "POST"])
@login_required
def challenge_action_new(challenge_id: int):
    """Turn what a challenge event agreed into a recommendation of the round, addressed to the agency, with its
    first action: both join the composite action plan under the round."""
    p = current_principal()
    allowed_or_403(can_record_challenges(p))
    event = get_challenge_or_404(p, challenge_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        given = posted_action(request.form, errors, with_due=True)
        try:
            rec, action = challenges.agree_action(event, request.form.get("text") or "", given)
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        if errors:
            db.session.rollback()
            event = get_challenge_or_404(p, challenge_id)
        else:
            db.session.commit()
            flash(f"Recommendation {rec.number} and its action added to the action plan: {action.title}", "success")
            return redirect(url_for("challenges.challenge_detail", challenge_id=event.id), 303)
        values: Any = request.form
    else:
        values = {"text": event.agreed, "owner_agency_id": str(event.agency_id), "rag": Rag.GREEN.value}
    return render_template(
        "self_assessments/challenge_action_form.html",
        event=event,
        action=None,
        values=values,
        errors=errors,
        owners=actions.owner_choices(p.partnership_id),
        agencies=[event.agency],
        rags=[r for r in Rag if r != Rag.BLUE],
    ), (400 if errors else 200)
