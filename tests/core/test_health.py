"""Liveness (/healthz) and readiness (/readyz): each check named with its state, 503 when one fails, and never a
secret, a path or an exception's text in the answer."""

from __future__ import annotations

import os

import pytest
from flask_migrate import upgrade

from audit_app import create_app
from audit_app.extensions import db
from tests.conftest import own_database

SECRET = "s3cret-password"


def _states(response) -> dict[str, str]:
    return {check["name"]: check["state"] for check in response.json["checks"]}


def test_ready_when_every_check_holds(client, tmp_path, app):
    original = app.config["FILE_STORAGE_DIR"]
    app.config["FILE_STORAGE_DIR"] = str(tmp_path / "files")
    try:
        response = client.get("/readyz")
    finally:
        app.config["FILE_STORAGE_DIR"] = original
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert _states(response) == {
        "database": "ok",
        "migrations": "ok",
        "redis": "not configured",
        "file_storage": "ok",
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert list((tmp_path / "files" / "tmp").iterdir()) == []  # the check's file is removed
    assert client.get("/healthz").json == {"status": "ok"}


def test_a_database_that_cannot_be_reached(smtp_server, tmp_path):
    app = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/nowhere",
        FILE_STORAGE_DIR=str(tmp_path),
    )
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # alive: it asks nothing of the database
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "not ready"
    assert _states(response)["database"] == "failed"
    assert _states(response)["file_storage"] == "ok"
    text = response.get_data(as_text=True)
    assert SECRET not in text and "127.0.0.1" not in text and "Traceback" not in text


def test_a_database_behind_the_newest_migration(smtp_server, tmp_path):
    with own_database(tmp_path, "ready_behind", FILE_STORAGE_DIR=str(tmp_path / "files")) as app:
        with app.app_context():
            upgrade(revision="head")
            from alembic.script import ScriptDirectory

            script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
            previous = script.get_revision(script.get_current_head()).down_revision
            from flask_migrate import downgrade

            downgrade(revision=previous)
            db.engine.dispose()
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert _states(response)["database"] == "ok"
        assert _states(response)["migrations"] == "behind"
        assert "flask db upgrade" in response.get_data(as_text=True)


def test_file_storage_that_cannot_be_written(client, app, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    original = app.config["FILE_STORAGE_DIR"]
    app.config["FILE_STORAGE_DIR"] = str(blocker / "files")
    try:
        response = client.get("/readyz")
    finally:
        app.config["FILE_STORAGE_DIR"] = original
    assert response.status_code == 503
    assert _states(response)["file_storage"] == "failed"
    assert _states(response)["database"] == "ok"
    assert str(tmp_path) not in response.get_data(as_text=True)


def test_redis_that_cannot_be_reached(client, app):
    app.config["REDIS_URL"] = f"redis://:{SECRET}@127.0.0.1:1/0"
    try:
        response = client.get("/readyz")
    finally:
        app.config["REDIS_URL"] = None
    assert response.status_code == 503
    assert _states(response)["redis"] == "failed"
    assert SECRET not in response.get_data(as_text=True)


def test_redis_that_answers(client, app):
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    app.config["REDIS_URL"] = url
    try:
        response = client.get("/readyz")
    finally:
        app.config["REDIS_URL"] = None
    assert _states(response)["redis"] == "ok"
