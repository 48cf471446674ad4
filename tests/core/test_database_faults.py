"""When the database is down or slow: a styled 503 that needs no database, and PostgreSQL timeouts that free a
worker instead of holding it until it is killed."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from audit_app import create_app

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
needs_postgres = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith(("postgresql", "postgres")), reason="the timeouts are PostgreSQL's"
)


def _app_on(url: str, **config):
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, **config)
    app.config["PROPAGATE_EXCEPTIONS_IN_TESTS"] = False
    return app


def test_a_database_outage_gives_a_styled_503_that_needs_no_database(smtp_server):
    """Nothing listens on port 1: every query fails, the error page included, unless it asks none."""
    app = _app_on("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    client = app.test_client()
    with client.session_transaction() as session:  # someone signed in: the page would look them up
        session["_user_id"] = "1:1"
        session["_fresh"] = True
    page = client.get("/")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "60"
    text = page.get_data(as_text=True)
    assert "Sorry, the service is unavailable" in text and "Nothing you sent was saved" in text
    assert 'class="govuk-template"' in text  # the service's own page, not the server's bare one
    api = client.get("/api/v1/rounds", headers={"Authorization": "Bearer sat_anything"})
    assert api.status_code == 503 and api.json["error"]["status"] == 503


@needs_postgres
def test_statements_and_lock_waits_are_stopped_by_their_timeouts():
    url = TEST_DATABASE_URL.replace("postgres://", "postgresql+psycopg://").replace(
        "postgresql://", "postgresql+psycopg://"
    )
    app = _app_on(url, DB_STATEMENT_TIMEOUT_MS=300, DB_LOCK_TIMEOUT_MS=200)
    with app.app_context():
        from audit_app.extensions import db

        engine = db.engine
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "300ms"
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "200ms"
            started = time.monotonic()
            with pytest.raises(sa.exc.OperationalError):
                conn.exec_driver_sql("SELECT pg_sleep(5)")
            assert time.monotonic() - started < 2
        # A lock held elsewhere: the wait ends at the lock timeout, not when a worker is killed.
        table = f"lock_probe_{os.getpid()}"
        with engine.connect() as holder, engine.connect() as waiter:
            holder.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {table} (id int)")
            holder.commit()
            holder.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # held until rollback
            started = time.monotonic()
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                waiter.exec_driver_sql(f"SELECT count(*) FROM {table}")  # noqa: S608 (our own table name)
            assert time.monotonic() - started < 2
            holder.rollback()
            holder.exec_driver_sql(f"DROP TABLE {table}")
            holder.commit()
        db.engine.dispose()
