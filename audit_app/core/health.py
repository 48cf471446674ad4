"""Readiness: what the application needs to serve requests, checked for a load balancer or an orchestrator.

Each check answers a fixed word (``ok``, ``failed``, ``behind``, ``ahead``, ``not configured``) and a fixed
sentence: never an exception's text, a URL or a path, which could carry a password or a host's name. What went
wrong is logged (the exception's class only) for whoever runs the server.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from .storage import storage_dir

log = logging.getLogger(__name__)

OK = "ok"
FAILED = "failed"


def migration_head() -> str:
    """The newest migration revision this code has (read once per process)."""
    head = current_app.extensions.get("audit_migration_head")
    if head is None:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        head = current_app.extensions["audit_migration_head"] = script.get_current_head()
    return head


def _check(name: str, state: str, message: str) -> dict[str, str]:
    return {"name": name, "state": state, "message": message}


def check_database() -> list[dict[str, str]]:
    """The database answers, and its schema is at this code's newest migration."""
    try:
        revisions = list(db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        log.warning("readiness: database check failed (%s)", type(error).__name__)
        return [
            _check("database", FAILED, "The database cannot be reached or has no schema."),
            _check("migrations", FAILED, "The schema's revision cannot be read."),
        ]
    finally:
        db.session.remove()
    database = _check("database", OK, "The database answers.")
    head = migration_head()
    if revisions == [head]:
        return [database, _check("migrations", OK, "The schema is at the newest migration.")]
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    known = {revision.revision for revision in script.walk_revisions()}
    if len(revisions) == 1 and revisions[0] in known:
        log.warning("readiness: the database is at %s, behind %s", revisions[0], head)
        return [database, _check("migrations", "behind", "The schema is behind this code: run `flask db upgrade`.")]
    log.warning("readiness: the database is at %s, which this code does not have", revisions)
    return [database, _check("migrations", "ahead", "The schema is at a migration this code does not have.")]


def check_redis() -> dict[str, str]:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return _check("redis", "not configured", "No REDIS_URL: jobs run in the web process.")
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        log.warning("readiness: Redis check failed (%s)", type(error).__name__)
        return _check("redis", FAILED, "Redis cannot be reached.")
    return _check("redis", OK, "Redis answers.")


def check_file_storage() -> dict[str, str]:
    """A file can be written (and removed) where uploads go."""
    try:
        scratch = storage_dir() / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=scratch, prefix="ready-") as handle:
            handle.write(b"ready")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        log.warning("readiness: file storage check failed (%s)", type(error).__name__)
        return _check("file_storage", FAILED, "Files cannot be written to the file store.")
    return _check("file_storage", OK, "Files can be written.")


def readiness() -> tuple[dict[str, Any], bool]:
    """Every check, and whether all passed (a Redis that is not configured passes)."""
    checks = [*check_database(), check_redis(), check_file_storage()]
    ready = all(check["state"] in (OK, "not configured") for check in checks)
    return {"status": "ready" if ready else "not ready", "checks": checks}, ready
