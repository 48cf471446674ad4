"""Request hooks (who is asking, security headers) and error pages."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, abort, current_app, g, has_request_context, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..extensions import db, login_manager
from .errors import DomainError, stale_conflict, unique_conflict, unique_violation_name
from .inputs import UNSTORABLE, nul_field
from .permissions import ANONYMOUS, current_principal
from .roles import Role

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def register_request_hooks(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Sign in to see this page"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def _unauthorized() -> Any:
        if wants_json():
            return json_error(401, "Authentication required: send 'Authorization: Bearer <token>'")
        from flask import flash, redirect, url_for

        flash("Sign in to see this page", "info")
        return redirect(url_for("accounts.login", next=request.full_path if request.query_string else request.path))

    @app.before_request
    def _start_anonymous() -> None:
        # Start from nothing: when requests share an outer app context (tests,
        # scripts), g would otherwise carry the previous request's user. The
        # accounts package then says who is asking (accounts/session.py). The request's id is set, fresh,
        # before this (core/logs.py).
        for key in (
            "_login_user",
            "principal",
            "partnership_id",
            "audit_user",
            "change_committed",
            "success_status",
            "view_started",
            "partnership_globals",
        ):
            g.pop(key, None)
        g.principal = ANONYMOUS

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {"principal": current_principal(), "Role": Role, "service_name": app.config["SERVICE_NAME"]}

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["ENV_NAME"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static":
            # Pages hold information about children: never keep them in shared caches.
            headers.setdefault("Cache-Control", "no-store")
        return response

    @app.teardown_request
    def _rollback_on_error(exc: BaseException | None) -> None:
        if exc is not None:
            db.session.rollback()


# -- request guards: input no view should ever see (core/inputs.py holds the limits) --


def register_request_guards(app: Flask) -> None:
    """Refuse, before any view runs, input that the database cannot store."""

    @app.before_request
    def _refuse_nul_characters() -> None:
        # PostgreSQL refuses "\x00" in text: name the field instead of failing on the INSERT.
        # JSON bodies are checked by the API's parse_body (api/helpers.py), at any depth.
        pairs = [
            *request.args.items(multi=True),
            *request.form.items(multi=True),
            *((name, upload.filename or "") for name, upload in request.files.items(multi=True)),
            *((name, value) for name, value in (request.view_args or {}).items() if isinstance(value, str)),
        ]
        name = nul_field(pairs)
        if name is not None:
            abort(400, f"'{name}' {UNSTORABLE}")


def json_error(status: int, message: str, fields: dict[str, list[str]] | None = None) -> tuple[Response, int]:
    """The API's error body: ``{"error": {"status", "message", "fields"}}``; a 401 says how to authenticate."""
    body: dict[str, Any] = {"status": status, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response, status


ERROR_TITLES = {
    400: "There is a problem with your request",
    401: "You need to sign in",
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "This action is not available here",
    409: "This change clashes with the current state",
    410: "This file is no longer available",
    413: "The file is too large",
    415: "Unsupported content type",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
}


API_MESSAGES = {
    400: "The request is not valid",
    403: "Your role does not allow this",
    404: "No such object in your partnership",
    405: "This method is not allowed here",
    413: "The request is too large",
}


UNAVAILABLE = (
    "The service cannot reach its database just now, or it is too busy. Nothing you sent was saved by this "
    "request. Try again in a few minutes."
)


# -- a change that was committed is never reported as failed --
#
# A view commits, then reads what it shows next (the object's JSON, a flash naming it, the redirect's
# URL). If that read fails (the database went away, a timeout), the change is saved all the same: telling
# the person it failed invites them to make it twice. Every commit during a request that changes
# something is noted here, and the error handlers below answer "saved" instead of "failed".

SAVED_NOT_SHOWN = (
    "Your change was saved. The page that follows it could not be shown just now: go back and reload "
    "to see it. Do not make the change again."
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuditFlask(Flask):
    """Flask that notes when the view itself starts: commits before it (a token's last-used time, written
    by a before-request hook) are bookkeeping, not the change the person asked for."""

    def dispatch_request(self) -> Any:
        g.view_started = True
        return super().dispatch_request()


@sa.event.listens_for(Session, "after_commit")
def _note_commit(session: Session) -> None:
    if has_request_context() and request.method not in SAFE_METHODS and g.get("view_started"):
        g.change_committed = True


def change_committed() -> bool:
    """This request changed something and committed it (so a later failure must not say it failed)."""
    return has_request_context() and bool(g.get("change_committed"))


def _saved_but_not_shown(error: Exception) -> Any:
    """The request's change is committed and what followed failed: say it was saved.

    The API answers the operation's own success status with ``{"saved": true, "message"}`` (a client
    must not repeat a create or a submit); a page says so in words, without asking the database anything.
    """
    with contextlib.suppress(Exception):
        db.session.rollback()
    with contextlib.suppress(Exception):
        db.session.remove()
    current_app.logger.error(
        "change committed, then failed on %s %s: %r", request.method, request.path, error, exc_info=error
    )
    g._login_user = login_manager.anonymous_user()
    g.principal = ANONYMOUS
    if wants_json():
        # the operation's declared success status, set by the API's route wrapper (api/spec.py)
        return jsonify({"saved": True, "message": SAVED_NOT_SHOWN}), g.get("success_status", 200)
    return render_template("errors/error.html", code=200, title="Your change was saved", message=SAVED_NOT_SHOWN), 200


def _database_unavailable(error: Exception) -> Any:
    """The database is down, or a statement or lock wait ran out of time: a 503 page that needs no database.

    Nobody is looked up (the page would need the database to say who is signed in), and the session is
    thrown away: what this request changed was never committed.
    """
    with contextlib.suppress(Exception):
        db.session.rollback()
    with contextlib.suppress(Exception):
        db.session.remove()
    current_app.logger.error("database unavailable on %s %s: %s", request.method, request.path, error)
    g._login_user = login_manager.anonymous_user()
    g.principal = ANONYMOUS
    if wants_json():
        return json_error(503, UNAVAILABLE)
    return (
        render_template("errors/error.html", code=503, title="Sorry, the service is unavailable", message=UNAVAILABLE),
        503,
        {"Retry-After": "60"},
    )


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        db.session.rollback()
        message = "The form had expired or was not sent from this service. Go back, reload the page and try again."
        if wants_json():
            return json_error(400, message)
        return render_template("errors/error.html", code=400, title=ERROR_TITLES[400], message=message), 400

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Any:
        db.session.rollback()
        if wants_json():
            fields = getattr(error, "fields", None) or ({error.field: [error.message]} if error.field else None)
            message = "The questionnaire has problems; see fields" if hasattr(error, "problems") else error.message
            return json_error(error.status_code, message, fields)
        return render_template(
            "errors/error.html",
            code=error.status_code,
            title=ERROR_TITLES.get(error.status_code),
            message=error.message,
        ), error.status_code

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        code = error.code or 500
        db.session.rollback()
        message = error.description
        if code == 429:
            # A limit with its own words (sign-in says which limit and when it lifts) keeps them.
            limit = getattr(error, "limit", None)
            if not getattr(limit, "error_message", None):
                message = "You have tried too many times. Wait a minute, then try again."
        elif message == type(error).description:  # Werkzeug's generic wording
            message = API_MESSAGES.get(code, message) if wants_json() else None
        if wants_json():
            response, status = json_error(code, message or ERROR_TITLES.get(code, "Error"))
            if code == 405 and getattr(error, "valid_methods", None):
                response.headers["Allow"] = ", ".join(error.valid_methods)
            return response, status
        template = f"errors/{code}.html" if code in (403, 404, 500) else "errors/error.html"
        title = ERROR_TITLES.get(code, error.name)
        if code in (403, 404, 500):
            message = None
        response = render_template(template, code=code, title=title, message=message), code
        if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            return response[0], code, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return _http_error(error)
        if change_committed():
            return _saved_but_not_shown(error)
        if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError):
            return _database_unavailable(error)
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if app.config.get("PROPAGATE_EXCEPTIONS_IN_TESTS"):
            raise error
        if wants_json():
            return json_error(500, "Internal error; it has been logged")
        return render_template("errors/500.html", code=500, title=ERROR_TITLES[500]), 500

    register_conflict_handlers(app, _domain_error, _unexpected)


# -- conflicts: stale optimistic locks and unique violations --
#
# Two requests racing on one row end in the database: an UPDATE guarded by a lock version that
# matches no row (StaleDataError), or an INSERT that breaks a unique constraint or index
# (IntegrityError). Either can surface at any flush or at the view's commit, so they are answered
# here, for every view and endpoint, as the 409 of a ConflictError; the session is rolled back
# first (the domain-error handler does that).


def register_conflict_handlers(
    app: Flask, domain_error: Callable[[DomainError], Any], unexpected: Callable[[Exception], Any]
) -> None:
    @app.errorhandler(StaleDataError)
    def _stale_data(error: StaleDataError) -> Any:
        db.session.rollback()
        app.logger.info("optimistic lock conflict on %s %s: %s", request.method, request.path, error)
        return domain_error(stale_conflict(error))

    @app.errorhandler(IntegrityError)
    def _integrity_error(error: IntegrityError) -> Any:
        db.session.rollback()
        name = unique_violation_name(error, db.metadata)
        if name is None:  # not a unique violation (a foreign key or check): a bug, not a race
            return unexpected(error)
        app.logger.info("unique violation %r on %s %s", name, request.method, request.path)
        return domain_error(unique_conflict(name, db.metadata))
