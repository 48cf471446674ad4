"""Jobs: work that runs after the database transaction commits.

``enqueue(send_reminders, round_id=3)`` records a call on the current
``db.session`` transaction. When that transaction commits, the call is either
run at once in this process (inline: the default, and always in tests) or put
on the RQ queue ``JOBS_QUEUE`` at ``REDIS_URL`` (when ``REDIS_URL`` is set and
``JOBS_INLINE`` is off) for ``flask jobs worker`` to run. When the transaction
rolls back, or the session closes without committing, the calls are dropped;
a call made inside a SAVEPOINT (``begin_nested()``) is dropped if that
savepoint rolls back.

A job is written like a view: a module-level function taking plain values
(ids, not ORM objects, since they cross to another process and the object's
session is gone by then) that loads what it needs, acts and commits. It runs
in a fresh app context of its own (so a session of its own), attributed in
the audit trail to ``job:<module.function>``. An inline job that raises is
logged and never undoes or breaks the request that already committed. If Redis
cannot be reached, the job is logged and run inline instead of being lost.

Tests: the test database runs each test in an outer transaction and the app's
``db.session.commit()`` releases a SAVEPOINT, but the session's own (root)
transaction still commits, so SQLAlchemy's ``after_commit`` fires as in
production: an inline job has run by the time ``commit()`` returns. No helper
is needed to run them. A job run inline inside a test shares the test's
connection, so it sees (and its commit keeps) the test's data until the test
rolls everything back.

Register the worker command in the app's CLI with
``app.cli.add_command(jobs_cli)``.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import click
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from ..extensions import db
from .audit import system_actor

logger = logging.getLogger(__name__)

#: where a session keeps its not-yet-committed jobs (in ``Session.info``)
_PENDING = "audit_app.jobs.pending"
#: the function RQ workers call; it resolves and runs the job by name
_RUNNER = "audit_app.core.jobs.run_job"

_PLAIN = (type(None), bool, int, float, str, bytes, Decimal, date, datetime, time, timedelta, UUID, enum.Enum)


@dataclass(frozen=True)
class Job:
    """One call to make after commit: ``name`` is ``package.module.function``."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


# -- enqueueing --


def enqueue(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Job:
    """Run ``func(*args, **kwargs)`` after the current ``db.session`` transaction commits.

    Raises TypeError at once if ``func`` is not a module-level function, the
    arguments do not fit its signature, or any argument is not a plain value.
    """
    name = job_name(func)
    _check_arguments(func, name, args, kwargs)
    job = Job(name, tuple(args), dict(kwargs))
    session = db.session()
    if session.get_transaction() is None:
        session.begin()
    current = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((current, job))
    return job


def pending_jobs() -> list[Job]:
    """The jobs waiting for the current session's transaction to commit."""
    return [job for _, job in db.session().info.get(_PENDING, [])]


def job_name(func: Callable[..., Any]) -> str:
    """``package.module.function`` for a module-level function, else TypeError."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", "")
    if (
        not inspect.isfunction(func)
        or module in (None, "__main__")
        or "." in qualname
        or "<" in qualname
        or getattr(sys.modules.get(module or ""), qualname, None) is not func
    ):
        raise TypeError(
            f"enqueue() needs a module-level function that a worker can import by name, not {func!r} "
            "(no lambdas, methods or nested functions)"
        )
    return f"{module}.{qualname}"


def _check_arguments(func: Callable[..., Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"enqueue({name}): {exc}") from None
    for param, value in bound.arguments.items():
        _check_plain(value, f"enqueue({name}): argument {param!r}")


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(key, f"{where} (a key)")
            _check_plain(item, f"{where}[{key!r}]")
        return
    kind = type(value).__name__
    if sa.inspect(value, raiseerr=False) is not None:
        raise TypeError(f"{where} is a {kind} (a database object): pass its id and load it again in the job")
    raise TypeError(
        f"{where} is a {kind}: jobs take plain values (None, bool, int, float, str, bytes, Decimal, "
        "date, datetime, time, timedelta, UUID, enums, and lists, tuples, sets and dicts of them)"
    )


# -- after commit or rollback --


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # after_commit also fires when a SAVEPOINT is released: wait for the root.
    if session.in_nested_transaction() or _PENDING not in session.info:
        return
    jobs = [job for _, job in session.info.pop(_PENDING)]
    if jobs:
        _dispatch(current_app._get_current_object(), jobs)  # type: ignore[attr-defined]


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    _drop(session, previous_transaction)


@event.listens_for(Session, "after_transaction_end")
def _after_end(session: Session, transaction: SessionTransaction) -> None:
    # A root transaction that ends without committing (rollback, close) takes its jobs with it.
    if transaction.parent is None:
        _drop(session, transaction)


def _drop(session: Session, transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    kept = []
    for owner, job in pending:
        if _within(owner, transaction):
            logger.info("job %s dropped: its transaction did not commit", job.name)
        else:
            kept.append((owner, job))
    if kept:
        session.info[_PENDING] = kept
    else:
        del session.info[_PENDING]


# -- running --


def runs_inline(app: Flask) -> bool:
    """True when jobs run in this process after commit rather than on RQ."""
    return bool(app.config.get("JOBS_INLINE", True)) or not app.config.get("REDIS_URL")


def _dispatch(app: Flask, jobs: list[Job]) -> None:
    inline = runs_inline(app)
    for job in jobs:
        if not inline:
            try:
                queue(app).enqueue(_RUNNER, job.name, list(job.args), job.kwargs, description=job.name)
                logger.info("job %s queued on %s", job.name, app.config["JOBS_QUEUE"])
                continue
            except Exception:
                logger.exception("job %s could not be queued on Redis; running it here instead", job.name)
        try:
            run_job(job.name, list(job.args), job.kwargs)
        except Exception:
            logger.exception("job %s failed (its request had already committed)", job.name)


def _resolve(name: str) -> Callable[..., Any]:
    module, _, func_name = name.rpartition(".")
    func = getattr(importlib.import_module(module), func_name, None)
    if not callable(func):
        raise LookupError(f"no job function {name}")
    return func


def run_job(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run one job in a fresh app context of the current app (what RQ workers call)."""
    if not has_app_context():
        raise RuntimeError("jobs run inside the app: start workers with `flask jobs worker`")
    func = _resolve(name)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context(), system_actor(f"job:{name}"):
        logger.info("job %s started", name)
        try:
            result = func(*args, **kwargs)
        except Exception:
            db.session.rollback()
            raise
        logger.info("job %s finished", name)
        return result


def queue(app: Flask | None = None):  # -> rq.Queue (imported lazily: inline set-ups never need RQ)
    """The RQ queue jobs go to (needs ``REDIS_URL``)."""
    from redis import Redis
    from rq import Queue

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    url = app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set: jobs run inline")
    cache = app.extensions.setdefault("audit_app.jobs", {})
    key = (url, app.config["JOBS_QUEUE"])
    if key not in cache:
        cache[key] = Queue(app.config["JOBS_QUEUE"], connection=Redis.from_url(url))
    return cache[key]


# -- the worker command --

jobs_cli = AppGroup("jobs", help="Background jobs on RQ (needs REDIS_URL).")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty instead of waiting for more.")
@click.option("--simple", is_flag=True, help="Run each job in this process rather than a forked child.")
def worker_command(burst: bool, simple: bool) -> None:
    """Run jobs from the queue until stopped (or, with --burst, until it is empty)."""
    from rq import SimpleWorker, Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is not set, so jobs run inline in the web process: no worker is needed.")
    jobs_queue = queue(app)
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class([jobs_queue], connection=jobs_queue.connection)
    click.echo(f"Worker for queue {jobs_queue.name!r} at {_safe_url(app.config['REDIS_URL'])}")
    worker.work(burst=burst)


def _safe_url(url: str) -> str:
    """The Redis URL without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
