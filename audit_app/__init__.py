"""The safeguarding audit and learning application."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from config import BASE_DIR, Config, config_for


def create_app(config: str | type[Config] | None = None, **overrides: Any) -> Flask:
    """Build the app. ``config`` is a name (see config.py) or a config class."""
    from .core.web import AuditFlask

    app = AuditFlask(__name__, template_folder=str(BASE_DIR / "templates"), instance_path=str(BASE_DIR / "instance"))
    config_cls = config if isinstance(config, type) else config_for(config)
    app.config.from_object(config_cls)
    app.config.update(overrides)
    app.permanent_session_lifetime = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "SECRET_KEY must be set in the environment outside development and tests (or run with APP_ENV=development)."
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        (BASE_DIR / "instance").mkdir(exist_ok=True)
    from .core.logs import configure_logging

    configure_logging(app)

    _database_timeouts(app)
    from .core.inputs import IdConverter

    app.url_map.converters["int"] = IdConverter  # ids 1 to 2**31 - 1; anything else is 404, before any query
    register_jinja(app)
    register_extensions(app)
    register_blueprints(app)

    from .core.logs import register_request_logging
    from .core.web import register_errorhandlers, register_request_guards, register_request_hooks

    register_request_hooks(app)
    register_request_logging(app)  # after the hook that starts every request from nothing
    register_request_guards(app)
    register_errorhandlers(app)
    register_domains(app)
    return app


def register_domains(app: Flask) -> None:
    """What each domain adds beyond its models and pages: who is asking, CLI commands, demo steps.

    Core imports no domain package; this factory is where they meet.
    """
    from .accounts import cli as accounts_cli
    from .accounts import demo as _accounts_demo  # noqa: F401  (registers its demo step)
    from .accounts import history as _accounts_history  # noqa: F401  (registers its histories and home part)
    from .accounts import session
    from .actions import demo as _actions_demo  # noqa: F401  (registers its demo step)
    from .actions import history as _actions_history  # noqa: F401  (registers actions' and recommendations' histories)
    from .actions import notifications as _actions_notifications  # noqa: F401  (registers its daily reminders)
    from .case_audits import access as _case_audits_access  # noqa: F401  (names cases and returns in the access log)
    from .case_audits import cli as case_audits_cli
    from .case_audits import dashboard as _case_audits_dashboard  # noqa: F401  (registers its home part)
    from .case_audits import demo as _case_audits_demo  # noqa: F401
    from .case_audits import history as _case_audits_history  # noqa: F401  (registers a case's history)
    from .core import access_log
    from .core.cli import register_cli
    from .questionnaires import cli as questionnaires_cli
    from .questionnaires import demo as _questionnaires_demo  # noqa: F401
    from .reviews import access as _reviews_access  # noqa: F401  (names reviews in the access log)
    from .reviews import dashboard as _reviews_dashboard  # noqa: F401  (registers its home part)
    from .reviews import demo as _reviews_demo  # noqa: F401  (registers its demo step)
    from .reviews import reminders as _reviews_reminders  # noqa: F401  (registers its daily reminders)
    from .rounds import cli as rounds_cli
    from .rounds import queues as _rounds_queues  # noqa: F401  (registers its home part)
    from .self_assessments import demo as _self_assessments_demo  # noqa: F401  (registers its demo step)

    session.init_app(app)  # after core's hooks, which start every request anonymous
    access_log.init_app(app)
    register_cli(
        app, [*accounts_cli.COMMANDS, *case_audits_cli.COMMANDS, *questionnaires_cli.COMMANDS, *rounds_cli.COMMANDS]
    )


def _database_timeouts(app: Flask) -> None:
    """PostgreSQL sessions stop a statement or a lock wait that runs too long (see config.py)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    settings = f"-c statement_timeout={int(app.config['DB_STATEMENT_TIMEOUT_MS'])}"
    settings += f" -c lock_timeout={int(app.config['DB_LOCK_TIMEOUT_MS'])}"
    connect_args["options"] = f"{connect_args.get('options', '')} {settings}".strip()
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def register_jinja(app: Flask) -> None:
    from .questionnaires.answers import answer_type

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(BASE_DIR / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.filters["extract"] = lambda key, mapping: mapping.get(key, key)
    app.jinja_env.filters["app_answer_widget"] = lambda question: answer_type(question).widget
    app.jinja_env.filters["app_answer_field"] = lambda question, **kw: answer_type(question).field(question, **kw)
    app.jinja_env.filters["app_field_error_link"] = lambda item: {"text": item[1], "href": f"#{item[0]}"}
    app.jinja_env.filters["app_plain_error"] = lambda message, href: {"text": message, "href": href}
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def register_extensions(app: Flask) -> None:
    from govuk_frontend_wtf.main import WTFormsHelpers

    from .extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(BASE_DIR / "migrations"),
        compare_type=True,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        render_item=_render_migration_item,
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    WTFormsHelpers(app)

    # Import every model so the metadata (and so migrations) see them all.
    from .accounts import models as _accounts  # noqa: F401
    from .actions import models as _actions  # noqa: F401
    from .case_audits import kinds as _case_audit_kind  # noqa: F401  (registers the case-audit rules)
    from .case_audits import models as _case_audits  # noqa: F401
    from .core import audit as _audit  # noqa: F401
    from .core import storage as _storage  # noqa: F401
    from .questionnaires import models as _questionnaires  # noqa: F401
    from .reporting import models as _reporting  # noqa: F401
    from .reviews import models as _reviews  # noqa: F401
    from .rounds import models as _rounds  # noqa: F401
    from .self_assessments import models as _self_assessments  # noqa: F401


def register_blueprints(app: Flask) -> None:
    from .accounts import import_views as _import_views  # noqa: F401  (settings from a CSV, on accounts_bp)
    from .accounts import security_views as _security_views  # noqa: F401  (two-factor and sessions, on accounts_bp)
    from .accounts.views import bp as accounts_bp
    from .actions.improvement import bp as improvement_bp
    from .actions.plan_views import bp as plan_bp
    from .actions.views import bp as actions_bp
    from .api import bp as api_bp
    from .case_audits import retention_views as _retention_views  # noqa: F401  (its page, on case_audits_bp)
    from .case_audits.views import bp as case_audits_bp
    from .core.access_views import bp as access_log_bp
    from .core.views import bp as core_bp
    from .questionnaires.views import bp as questionnaires_bp
    from .reporting.theme_views import bp as themes_bp
    from .reporting.views import bp as reporting_bp
    from .reviews.learning_views import bp as learning_bp
    from .reviews.report_views import bp as review_reports_bp
    from .reviews.summary_views import bp as review_summaries_bp
    from .reviews.views import bp as reviews_bp
    from .rounds import evidence_views as _evidence_views  # noqa: F401  (a criterion's links and files, on rounds_bp)
    from .rounds.views import bp as rounds_bp
    from .self_assessments.challenge_views import bp as challenges_bp
    from .self_assessments.report_views import bp as sa_reports_bp
    from .self_assessments.scrutiny_views import bp as scrutiny_bp
    from .self_assessments.survey_views import bp as surveys_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(access_log_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(improvement_bp)
    app.register_blueprint(questionnaires_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(case_audits_bp)
    app.register_blueprint(reporting_bp)
    app.register_blueprint(actions_bp)
    app.register_blueprint(plan_bp)
    app.register_blueprint(scrutiny_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(sa_reports_bp)
    app.register_blueprint(challenges_bp)
    app.register_blueprint(reviews_bp)
    app.register_blueprint(review_summaries_bp)
    app.register_blueprint(learning_bp)
    app.register_blueprint(themes_bp)
    app.register_blueprint(review_reports_bp)


def _render_migration_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types into migrations as plain SQLAlchemy types."""
    from .core.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite ignores foreign keys unless asked, on every connection.

    pysqlite's own transaction handling also gets in the way of SAVEPOINTs, so
    SQLAlchemy emits BEGIN itself (see _sqlite_begin).
    """
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
