"""Pages of the account page's security parts, on the accounts blueprint: setting up two-factor sign-in, recovery
codes, turning it off, and ending signed-in sessions (accounts.security holds the rules)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..core.errors import DomainError
from ..core.forms import ConfirmForm, add_form_error
from ..extensions import db
from . import security
from .forms import ConfirmIdentityForm, TwoFactorEnrolForm
from .session import current_session_id
from .views import bp


def _codes_page(codes: list[str], *, first_time: bool):
    """The recovery codes, shown this once (only their hashes are kept)."""
    return render_template("accounts/two_factor_codes.html", codes=codes, first_time=first_time)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    """Set up two-factor sign-in: scan the QR code (or type the secret), then enter a code to confirm."""
    if current_user.has_two_factor:
        return redirect(url_for("accounts.account"))
    form = TwoFactorEnrolForm()
    if not current_user.totp_secret:
        security.start_enrolment(current_user)
        db.session.commit()
    if form.validate_on_submit():
        try:
            codes = security.confirm_enrolment(current_user, form.code.data, keep_session_id=current_session_id())
        except DomainError as error:
            db.session.rollback()
            add_form_error(form, error.message, error.field or "code")
        else:
            db.session.commit()
            return _codes_page(codes, first_time=True)
    return render_template(
        "accounts/two_factor_setup.html",
        form=form,
        qr_code=security.qr_code_data_uri(current_user),
        secret=security.grouped_secret(current_user),
        required=security.two_factor_required(current_user),
    ), 400 if form.errors else 200


@bp.route("/account/two-factor/recovery-codes", methods=["GET", "POST"])
@login_required
def two_factor_recovery_codes():
    """Make new recovery codes (the old ones stop working), after your password or a current code."""
    if not current_user.has_two_factor:
        return redirect(url_for("accounts.account"))
    form = ConfirmIdentityForm()
    if form.validate_on_submit():
        try:
            security.confirm_identity(current_user, form.answer.data)
        except DomainError as error:
            db.session.rollback()
            add_form_error(form, error.message, "answer")
        else:
            codes = security.regenerate_recovery_codes(current_user)
            db.session.commit()
            return _codes_page(codes, first_time=False)
    return render_template(
        "accounts/two_factor_confirm.html",
        form=form,
        title="Make new recovery codes",
        intro="Your old recovery codes will stop working. Enter your password, or the code your authenticator "
        "app shows now, to continue.",
        button="Make new recovery codes",
    ), 400 if form.errors else 200


@bp.route("/account/two-factor/turn-off", methods=["GET", "POST"])
@login_required
def two_factor_disable():
    """Turn two-factor sign-in off, after your password or a current code (refused while it is required)."""
    if not current_user.has_two_factor:
        return redirect(url_for("accounts.account"))
    if security.two_factor_required(current_user):
        flash("You cannot turn two-factor sign-in off: a partnership you work in requires it for your role", "error")
        return redirect(url_for("accounts.account"), code=303)
    form = ConfirmIdentityForm()
    if form.validate_on_submit():
        try:
            security.disable_two_factor(current_user, form.answer.data, keep_session_id=current_session_id())
        except DomainError as error:
            db.session.rollback()
            add_form_error(form, error.message, "answer")
        else:
            db.session.commit()
            flash("Two-factor sign-in is off. Your other sessions have been signed out.", "success")
            return redirect(url_for("accounts.account"))
    return render_template(
        "accounts/two_factor_confirm.html",
        form=form,
        title="Turn off two-factor sign-in",
        intro="You will sign in with your password only, and your recovery codes will stop working. Enter your "
        "password, or the code your authenticator app shows now, to continue.",
        button="Turn off two-factor sign-in",
    ), 400 if form.errors else 200


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def session_end(session_id: int):
    """End one of your signed-in sessions: its cookie stops working at its next request."""
    row = security.get_live_session(current_user, session_id)
    if row is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    this_one = row.id == current_session_id()
    security.end_session(row)
    db.session.commit()
    if this_one:
        flash("You have signed out", "success")
        return redirect(url_for("accounts.login"))
    flash(f"Session ended: {row.browser}", "success")
    return redirect(url_for("accounts.account", _anchor="sessions"))


@bp.post("/account/sessions/end-others")
@login_required
def sessions_end_others():
    """End every signed-in session of yours but this one."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ended = security.end_other_sessions(current_user, current_session_id())
    db.session.commit()
    flash(f"{ended} other session{'' if ended == 1 else 's'} ended", "success")
    return redirect(url_for("accounts.account", _anchor="sessions"))
