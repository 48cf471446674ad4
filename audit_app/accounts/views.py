"""Sign in and out, the account page, and partnership administration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import RequestLimit
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import selectinload

from ..core import clock
from ..core.errors import DomainError
from ..core.forms import ActiveForm, ConfirmForm, add_form_error
from ..core.pagination import paginate
from ..core.permissions import Principal, allowed_or_403, current_principal
from ..extensions import db, limiter, login_email_key
from . import security, services
from .forms import (
    AgencyForm,
    ApiTokenForm,
    LinkAgencyForm,
    LoginForm,
    MembershipForm,
    PartnershipSettingsForm,
    SectorForm,
    SetPasswordForm,
    SwitchPartnershipForm,
    TwoFactorCodeForm,
    UserCreateForm,
    UserEditForm,
)
from .invitations import send_invitation
from .models import ApiToken, Membership, Partnership, Role, Sector, User
from .permissions import (
    agency_links_query,
    can_manage_account,
    can_manage_accounts,
    can_manage_token,
    can_view_agencies,
    can_view_users,
    get_agency_link_or_404,
    get_sector_or_404,
    get_user_or_404,
    sectors_query,
    users_query,
)
from .session import SESSION_KEY, current_session_id

bp = Blueprint("accounts", __name__)


def _partnership_id() -> int:
    principal = current_principal()
    if principal.partnership_id is None:
        abort(403)
    return principal.partnership_id


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# -- signing in and out --


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _failed(response: Response) -> bool:
    """Only failed sign-ins count towards the limits: a successful one redirects (302)."""
    return response.status_code != 302


def _remember_breach(limit: RequestLimit) -> None:
    g.login_limit = limit


def _limit_message(whose: str) -> Callable[[], str]:
    def message() -> str:
        limit = g.get("login_limit")
        if limit is None:
            return f"Too many failed sign-ins {whose}. Wait a minute, then try again."
        lifts = datetime.fromtimestamp(limit.reset_at, tz=UTC).astimezone(clock.LONDON).strftime("%H:%M")
        return f"Too many failed sign-ins {whose}: the limit is {limit.limit}. You can try again from {lifts}."

    return message


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _login_limit,
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_remember_breach,
    error_message=_limit_message("from your network address"),
)
@limiter.limit(
    _login_limit,
    methods=["POST"],
    key_func=login_email_key,
    deduct_when=_failed,
    on_breach=_remember_breach,
    error_message=_limit_message("for this email address"),
)
def login():
    """Sign in with email and password (then a second factor, for those who use one)."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email, password = form.email.data, form.password.data
        if security.is_locked(email):
            services.spend_one_verification(password)  # a locked address answers as fast as any other
            add_form_error(form, security.LOCKED_MESSAGE, "email")
        else:
            user = services.authenticate(email, password)
            if user is None:
                locked = security.record_failure(email)
                db.session.commit()  # the failure counts, though the answer is an error
                add_form_error(
                    form, security.LOCKED_MESSAGE if locked else "Enter a correct email address and password", "email"
                )
            elif user.has_two_factor:
                pending = {
                    "user_id": user.id,
                    "version": user.session_version,
                    "at": clock.now().timestamp(),
                    "next": _safe_next(request.args.get("next")),
                }
                db.session.rollback()  # not signed in yet: "last signed in" waits for the second factor
                session.clear()
                session[PENDING_KEY] = pending
                return redirect(url_for("accounts.login_two_factor"))
            else:
                return _finish_sign_in(user, _safe_next(request.args.get("next")))
    status = 400 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


#: the Flask session key of a sign-in waiting for its second factor
PENDING_KEY = "pending_sign_in"


def _finish_sign_in(user: User, next_url: str | None) -> Response:
    """Both factors (or the password, for someone without two-factor sign-in) are right: sign the browser in."""
    security.clear_failures(user.email)
    user.last_login_at = clock.now()
    session.clear()
    session.permanent = True  # expires after SESSION_IDLE_MINUTES without a request
    login_user(user)
    session[SESSION_KEY] = security.start_session(
        user, ip_address=request.remote_addr, user_agent=request.headers.get("User-Agent")
    )
    db.session.commit()
    current_app.logger.info("user %s signed in", user.id)
    return redirect(next_url or url_for("core.home"))


def _pending_sign_in() -> tuple[User, dict] | None:
    """The person whose password was right and who has yet to give their second factor, if still in time."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    user = db.session.get(User, pending.get("user_id")) if isinstance(pending.get("user_id"), int) else None
    started = pending.get("at")
    if (
        user is None
        or not user.is_active
        or not user.has_two_factor
        or user.session_version != pending.get("version")
        or not isinstance(started, (int, float))
        or clock.now().timestamp() - started > security.PENDING_SIGN_IN_SECONDS
    ):
        return None
    return user, pending


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(
    _login_limit,
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_remember_breach,
    error_message=_limit_message("from your network address"),
)
def login_two_factor():
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    found = _pending_sign_in()
    if found is None:
        session.pop(PENDING_KEY, None)
        flash("Sign in again: the sign-in was not finished in time", "info")
        return redirect(url_for("accounts.login"))
    user, pending = found
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        if security.is_locked(user.email):
            session.pop(PENDING_KEY, None)
            add_form_error(form, security.LOCKED_MESSAGE, "code")
        else:
            factor = security.check_second_factor(user, form.code.data)
            if factor is None:
                locked = security.record_failure(user.email)
                db.session.commit()
                if locked:
                    session.pop(PENDING_KEY, None)
                add_form_error(
                    form,
                    security.LOCKED_MESSAGE
                    if locked
                    else "The code is not right: enter the code your app shows now, or an unused recovery code",
                    "code",
                )
            else:
                response = _finish_sign_in(user, pending.get("next"))
                if factor == "recovery":
                    left = security.recovery_codes_left(user)
                    flash(
                        f"You used a recovery code. You have {left} left"
                        + ("" if left > 2 else ": make new ones from your account page")
                        + ".",
                        "info",
                    )
                return response
    return render_template("accounts/login_two_factor.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required
def logout():
    """Sign out."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    # this browser's session record ends: a copy of the cookie, or a request still in flight, cannot sign back in
    row = security.get_live_session(current_user, current_session_id() or 0)
    if row is not None:
        security.end_session(row)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out", "success")
    return redirect(url_for("accounts.login"))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Accept an invitation (or reset link) by choosing a password."""
    user = services.user_for_password_token(token)
    if user is None:
        return render_template("accounts/set_password_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        g.audit_user = user
        services.set_password(user, form.password.data)
        db.session.commit()
        flash("Your password is set. You can now sign in.", "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/set_password.html", form=form, user=user), 400 if form.errors else 200


@bp.route("/partnership", methods=["GET", "POST"])
@login_required
def switch_partnership():
    """Choose which partnership to work in, for people with roles in several."""
    form = SwitchPartnershipForm()
    partnerships = db.session.scalars(
        sa.select(Partnership)
        .where(Partnership.id.in_(sa.select(Membership.partnership_id).where(Membership.user_id == current_user.id)))
        .order_by(Partnership.name)
    ).all()
    form.partnership_id.choices = [(p.id, p.name) for p in partnerships]
    if request.method == "GET":
        form.partnership_id.data = current_principal().partnership_id
    if form.validate_on_submit():
        session["partnership_id"] = form.partnership_id.data
        flash(
            "You are now working in " + next(p.name for p in partnerships if p.id == form.partnership_id.data),
            "success",
        )
        return redirect(url_for("core.home"))
    return render_template("accounts/switch_partnership.html", form=form), 400 if form.errors else 200


@bp.route("/admin/settings", methods=["GET", "POST"])
@login_required
def partnership_settings():
    """Partnership-wide settings, such as what the QA group is called."""
    allowed_or_403(can_manage_accounts(current_principal()))
    partnership = db.session.get(Partnership, _partnership_id())
    form = PartnershipSettingsForm(obj=partnership)
    if form.validate_on_submit():
        services.update_partnership_settings(
            partnership,
            qa_group_name=form.qa_group_name.data,
            auditors_can_submit=bool(form.auditors_can_submit.data),
            action_remind_days_before=form.action_remind_days_before.data,
            action_overdue_every_days=form.action_overdue_every_days.data,
            require_two_factor=bool(form.require_two_factor.data),
            **({"retention_months": form.retention_months.data} if form.retention_months.submitted else {}),
        )
        db.session.commit()
        flash("Settings saved", "success")
        _warn_of_removals(partnership)
        return redirect(url_for("accounts.partnership_settings"))
    return render_template("accounts/partnership_settings.html", form=form), 400 if form.errors else 200


def _warn_of_removals(partnership: Partnership) -> None:
    """After a save: say how many reported rounds' case records the next nightly purge will now remove, so a
    shortened period does not surprise anyone."""
    from ..case_audits.retention import due_rounds
    from ..core import clock

    due = len(due_rounds(clock.today(), partnership.id)) if partnership.retention_months else 0
    if due:
        flash(
            f"The case records of {due} reported {'round' if due == 1 else 'rounds'} are past this period and "
            "will be removed at the next nightly purge. Keeping case records lists them.",
            "important",
        )


# -- the account page and personal API tokens --


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Your details, roles, two-factor sign-in, signed-in sessions and API tokens."""
    form = ApiTokenForm()
    new_secret = None
    if form.validate_on_submit():
        _token, new_secret = services.create_api_token(
            current_user, _partnership_id(), form.name.data, expires_in_days=form.expires_in_days.data
        )
        db.session.commit()
        flash("Token created. Copy it now: it will not be shown again.", "success")
        form = ApiTokenForm(formdata=None)
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
    ).all()
    status = 400 if form.errors else 200
    return render_template(
        "accounts/account.html",
        form=form,
        tokens=tokens,
        new_secret=new_secret,
        confirm=ConfirmForm(),
        sessions=security.live_sessions(current_user),
        this_session_id=current_session_id(),
        two_factor_required=security.two_factor_required(current_user),
        recovery_codes_left=security.recovery_codes_left(current_user) if current_user.has_two_factor else 0,
    ), status


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    """Revoke one of your API tokens."""
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id))
    if token is None:
        abort(404)
    allowed_or_403(can_manage_token(current_principal(), token))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.revoke_api_token(token)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("accounts.account"), code=303)
    db.session.commit()
    flash(f"Token '{token.name}' revoked", "success")
    return redirect(url_for("accounts.account"))


# -- sectors --


@bp.get("/admin/sectors")
@login_required
def sector_list():
    """The partnership's sectors."""
    allowed_or_403(can_view_agencies(current_principal()))
    sectors = db.session.scalars(sectors_query(_partnership_id())).all()
    return render_template("accounts/sector_list.html", sectors=sectors)


@bp.route("/admin/sectors/new", methods=["GET", "POST"])
@login_required
def sector_create():
    """Add a sector."""
    allowed_or_403(can_manage_accounts(current_principal()))
    form = SectorForm()
    if form.validate_on_submit():
        try:
            services.create_sector(_partnership_id(), form.name.data)
        except DomainError as error:
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(f"Sector '{form.name.data}' added", "success")
            return redirect(url_for("accounts.sector_list"))
    return render_template("accounts/sector_form.html", form=form, sector=None), 400 if form.errors else 200


@bp.route("/admin/sectors/<int:sector_id>/edit", methods=["GET", "POST"])
@login_required
def sector_edit(sector_id: int):
    """Rename a sector."""
    sector = get_sector_or_404(_partnership_id(), sector_id)
    allowed_or_403(can_manage_accounts(current_principal()))
    form = SectorForm(obj=sector)
    if form.validate_on_submit():
        try:
            services.rename_sector(sector, form.name.data)
        except DomainError as error:
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash("Sector renamed", "success")
            return redirect(url_for("accounts.sector_list"))
    return render_template("accounts/sector_form.html", form=form, sector=sector), 400 if form.errors else 200


# -- agencies --


def _sector_choices(form_field, partnership_id: int) -> None:
    sectors = db.session.scalars(sectors_query(partnership_id)).all()
    form_field.choices = [("", "Select a sector")] + [(s.id, s.name) for s in sectors]


def _sector_from(sector_id: int | None, partnership_id: int) -> Sector | None:
    if sector_id is None:
        return None
    return db.session.scalar(sa.select(Sector).where(Sector.id == sector_id, Sector.partnership_id == partnership_id))


@bp.get("/admin/agencies")
@login_required
def agency_list():
    """The partnership's agencies, active and inactive."""
    allowed_or_403(can_view_agencies(current_principal()))
    links = db.session.scalars(agency_links_query(_partnership_id())).unique().all()
    return render_template(
        "accounts/agency_list.html", links=links, can_manage=can_manage_accounts(current_principal())
    )


@bp.route("/admin/agencies/new", methods=["GET", "POST"])
@login_required
def agency_create():
    """Add a new agency to the partnership."""
    allowed_or_403(can_manage_accounts(current_principal()))
    partnership_id = _partnership_id()
    form = AgencyForm()
    _sector_choices(form.sector_id, partnership_id)
    if form.validate_on_submit():
        try:
            link = services.create_agency(
                partnership_id,
                form.name.data,
                _sector_from(form.sector_id.data, partnership_id),
                short_code=form.short_code.data or "",
                reference_number=form.reference_number.data or "",
                contact_email=form.contact_email.data or "",
            )
        except DomainError as error:
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(f"Agency '{link.agency.name}' added", "success")
            return redirect(url_for("accounts.agency_list"))
    return render_template("accounts/agency_form.html", form=form, link=None), 400 if form.errors else 200


@bp.route("/admin/agencies/link", methods=["GET", "POST"])
@login_required
def agency_link():
    """Add an agency that already serves another partnership."""
    allowed_or_403(can_manage_accounts(current_principal()))
    partnership_id = _partnership_id()
    form = LinkAgencyForm()
    candidates = services.linkable_agencies(partnership_id)
    form.agency_id.choices = [("", "Select an agency")] + [(a.id, a.name) for a in candidates]
    _sector_choices(form.sector_id, partnership_id)
    if form.validate_on_submit():
        agency = next((a for a in candidates if a.id == form.agency_id.data), None)
        try:
            link = services.link_agency(partnership_id, agency, _sector_from(form.sector_id.data, partnership_id))
        except DomainError as error:
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(f"Agency '{link.agency.name}' added to this partnership", "success")
            return redirect(url_for("accounts.agency_list"))
    return render_template("accounts/agency_link.html", form=form), 400 if form.errors else 200


@bp.get("/admin/agencies/<int:agency_id>")
@login_required
def agency_detail(agency_id: int):
    """One agency: sector, status, previous names, staff with roles."""
    link = get_agency_link_or_404(_partnership_id(), agency_id)
    principal = current_principal()
    allowed_or_403(can_view_agencies(principal))
    members = []
    if can_view_users(principal):
        members = db.session.scalars(
            sa.select(Membership)
            .where(Membership.partnership_id == link.partnership_id, Membership.agency_id == agency_id)
            .join(Membership.user)
            .order_by(User.name)
        ).all()
    return render_template(
        "accounts/agency_detail.html",
        link=link,
        members=members,
        can_manage=can_manage_accounts(principal),
        confirm=ConfirmForm(),
    )


@bp.route("/admin/agencies/<int:agency_id>/edit", methods=["GET", "POST"])
@login_required
def agency_edit(agency_id: int):
    """Rename an agency (its old name is kept) or change its sector."""
    partnership_id = _partnership_id()
    link = get_agency_link_or_404(partnership_id, agency_id)
    allowed_or_403(can_manage_accounts(current_principal()))
    form = AgencyForm(
        obj=link.agency,
        data={
            "sector_id": link.sector_id,
            "short_code": link.short_code or "",
            "reference_number": link.reference_number or "",
            "contact_email": link.contact_email,
        }
        if request.method == "GET"
        else None,
    )
    _sector_choices(form.sector_id, partnership_id)
    if form.validate_on_submit():
        try:
            services.update_agency(
                link,
                form.name.data,
                _sector_from(form.sector_id.data, partnership_id),
                short_code=form.short_code.data or "",
                reference_number=form.reference_number.data or "",
                contact_email=form.contact_email.data or "",
            )
        except DomainError as error:
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash("Agency updated", "success")
            return redirect(url_for("accounts.agency_detail", agency_id=agency_id))
    return render_template("accounts/agency_form.html", form=form, link=link), 400 if form.errors else 200


@bp.post("/admin/agencies/<int:agency_id>/active")
@login_required
def agency_set_active(agency_id: int):
    """Deactivate or reactivate an agency in this partnership."""
    link = get_agency_link_or_404(_partnership_id(), agency_id)
    allowed_or_403(can_manage_accounts(current_principal()))
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400, "active must be 1 (reactivate) or 0 (deactivate)")
    active = form.active.data == "1"
    try:
        services.set_agency_active(link, active)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("accounts.agency_detail", agency_id=agency_id), code=303)
    db.session.commit()
    flash("Agency " + ("reactivated" if active else "deactivated"), "success")
    return redirect(url_for("accounts.agency_detail", agency_id=agency_id))


# -- users --


def _agency_choices(field, partnership_id: int) -> None:
    links = db.session.scalars(agency_links_query(partnership_id, active_only=True)).unique().all()
    field.choices = [("", "Select an agency")] + [(link.agency_id, link.agency.name) for link in links]


@bp.get("/admin/users")
@login_required
def user_list():
    """People with a role in the partnership."""
    principal = current_principal()
    allowed_or_403(can_view_users(principal))
    # Each person's roles come with them (one query for all), so the page's queries do not grow with its rows.
    page = paginate(users_query(_partnership_id()).options(selectinload(User.memberships)))
    locked = security.locked_emails([user.email for user in page.items])
    return render_template(
        "accounts/user_list.html", page=page, can_manage=can_manage_accounts(principal), locked=locked
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def user_create():
    """Create or invite a user and give them a first role."""
    allowed_or_403(can_manage_accounts(current_principal()))
    partnership_id = _partnership_id()
    form = UserCreateForm()
    _agency_choices(form.agency_id, partnership_id)
    if form.validate_on_submit():
        password = form.password.data if form.method.data == "password" else None
        try:
            user, created = services.create_user(
                partnership_id,
                email=form.email.data,
                name=form.name.data,
                role=Role(form.role.data),
                agency_id=form.agency_id.data,
                password=password,
            )
        except DomainError as error:
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            if created and password is None:
                return _invite(user)
            if not created:
                flash(f"{user.email} already had an account: the role was added to it", "success")
            else:
                flash(f"Account created for {user.email}", "success")
            return redirect(url_for("accounts.user_detail", user_id=user.id))
    return render_template("accounts/user_create.html", form=form), 400 if form.errors else 200


def _invite(user: User):
    """Email a set-password link; if it cannot go, show it on the user's page instead."""
    result = send_invitation(user, db.session.get(Partnership, _partnership_id()))
    if result["sent"]:
        flash(f"Invitation sent to {user.email}", "success")
        return redirect(url_for("accounts.user_detail", user_id=user.id))
    return _user_page(user, invitation_link=result["link"])


def _user_page(
    user: User, *, form: MembershipForm | None = None, invitation_link: str | None = None, status: int = 200
):
    """The user page; a set-password link that could not be emailed is shown on it (never put in the cookie)."""
    partnership_id = _partnership_id()
    principal = current_principal()
    memberships = db.session.scalars(
        sa.select(Membership).where(Membership.user_id == user.id, Membership.partnership_id == partnership_id)
    ).all()
    if form is None:
        form = MembershipForm(formdata=None)
        _agency_choices(form.agency_id, partnership_id)
    return render_template(
        "accounts/user_detail.html",
        user=user,
        memberships=memberships,
        form=form,
        confirm=ConfirmForm(),
        can_manage=can_manage_accounts(principal),
        can_manage_account=can_manage_account(principal, user),
        invitation_link=invitation_link,
        is_locked=security.is_locked(user.email),
    ), status


@bp.get("/admin/users/<int:user_id>")
@login_required
def user_detail(user_id: int):
    """One person: their roles in this partnership and account status."""
    user = get_user_or_404(_partnership_id(), user_id)
    allowed_or_403(can_view_users(current_principal()))
    return _user_page(user)


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def user_edit(user_id: int):
    """Change a user's name or email."""
    user = get_user_or_404(_partnership_id(), user_id)
    allowed_or_403(can_manage_account(current_principal(), user))
    form = UserEditForm(obj=user)
    if form.validate_on_submit():
        try:
            services.update_user(user, name=form.name.data, email=form.email.data)
        except DomainError as error:
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash("Details saved", "success")
            return redirect(url_for("accounts.user_detail", user_id=user.id))
    return render_template("accounts/user_edit.html", form=form, user=user), 400 if form.errors else 200


@bp.post("/admin/users/<int:user_id>/roles")
@login_required
def membership_add(user_id: int):
    """Give a user another role in this partnership."""
    partnership_id = _partnership_id()
    user = get_user_or_404(partnership_id, user_id)
    allowed_or_403(can_manage_accounts(current_principal()))
    form = MembershipForm()
    _agency_choices(form.agency_id, partnership_id)
    if form.validate_on_submit():
        try:
            services.add_membership(user, partnership_id, Role(form.role.data), form.agency_id.data)
        except DomainError as error:
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash("Role added", "success")
            return redirect(url_for("accounts.user_detail", user_id=user.id))
    return _user_page(user, form=form, status=400)


@bp.post("/admin/users/<int:user_id>/roles/<int:membership_id>/remove")
@login_required
def membership_remove(user_id: int, membership_id: int):
    """Take a role away from a user."""
    partnership_id = _partnership_id()
    user = get_user_or_404(partnership_id, user_id)
    allowed_or_403(can_manage_accounts(current_principal()))
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.id == membership_id, Membership.user_id == user.id, Membership.partnership_id == partnership_id
        )
    )
    if membership is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.remove_membership(membership)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("accounts.user_detail", user_id=user.id), code=303)
    db.session.commit()
    flash("Role removed", "success")
    still_here = db.session.scalar(users_query(partnership_id).where(User.id == user.id))
    return redirect(url_for("accounts.user_detail", user_id=user.id) if still_here else url_for("accounts.user_list"))


@bp.post("/admin/users/<int:user_id>/active")
@login_required
def user_set_active(user_id: int):
    """Deactivate or reactivate an account."""
    partnership_id = _partnership_id()
    user = get_user_or_404(partnership_id, user_id)
    allowed_or_403(can_manage_account(current_principal(), user))
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400, "active must be 1 (reactivate) or 0 (deactivate)")
    active = form.active.data == "1"
    try:
        services.set_user_active(user, active, by=current_user, partnership_id=partnership_id)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("accounts.user_detail", user_id=user.id), code=303)
    db.session.commit()
    flash("Account " + ("reactivated" if active else "deactivated"), "success")
    return redirect(url_for("accounts.user_detail", user_id=user.id))


def _account_action(
    user_id: int,
    allowed: Callable[[Principal, User], bool],
    act: Callable[[User, int], None],
    done: Callable[[User], str],
):
    """An admin's confirmed action on someone's account (unlock, reset two-factor): refused with its message
    on the user's page, or committed and said there."""
    partnership_id = _partnership_id()
    user = get_user_or_404(partnership_id, user_id)
    allowed_or_403(allowed(current_principal(), user))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        act(user, partnership_id)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("accounts.user_detail", user_id=user.id), code=303)
    db.session.commit()
    flash(done(user), "success")
    return redirect(url_for("accounts.user_detail", user_id=user.id))


@bp.post("/admin/users/<int:user_id>/unlock")
@login_required
def user_unlock(user_id: int):
    """Unlock an account locked by failed sign-ins (any admin of a partnership the person works in)."""
    return _account_action(
        user_id,
        lambda p, _user: can_manage_accounts(p),
        lambda user, partnership_id: security.unlock_user(user, partnership_id=partnership_id),
        lambda user: f"Account unlocked: {user.name} can sign in again",
    )


@bp.post("/admin/users/<int:user_id>/two-factor/reset")
@login_required
def user_two_factor_reset(user_id: int):
    """Turn off the two-factor sign-in of someone who has lost their phone and their recovery codes."""
    return _account_action(
        user_id,
        can_manage_account,
        lambda user, partnership_id: security.reset_two_factor(user, partnership_id=partnership_id),
        lambda user: f"Two-factor sign-in turned off for {user.name}, who has been signed out everywhere",
    )


@bp.post("/admin/users/<int:user_id>/invite")
@login_required
def user_reinvite(user_id: int):
    """Email a fresh set-password link (a new invitation or a reset)."""
    user = get_user_or_404(_partnership_id(), user_id)
    allowed_or_403(can_manage_account(current_principal(), user))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not user.is_active:
        flash("Reactivate the account before sending an invitation", "error")
        return redirect(url_for("accounts.user_detail", user_id=user.id), code=303)
    return _invite(user)
