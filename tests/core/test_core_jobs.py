"""Jobs run after commit: inline by default, on RQ with Redis; dropped on rollback."""

from __future__ import annotations

import logging
import os
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from audit_app.accounts.models import Partnership
from audit_app.core.audit import AuditEvent
from audit_app.core.jobs import enqueue, jobs_cli, pending_jobs, queue, runs_inline
from audit_app.extensions import db

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")

#: what the jobs below did, in order
ran: list[tuple] = []


# -- jobs (module level, so a worker can import them by name) --


def note(label: str, *, extra: object = None) -> None:
    ran.append(("note", label, extra))


def rename_partnership(partnership_id: int, name: str) -> None:
    partnership = db.session.get(Partnership, partnership_id)
    ran.append(("rename", partnership.name, name))
    partnership.name = name
    db.session.commit()


def fail(label: str) -> None:
    ran.append(("fail", label))
    raise RuntimeError("the job went wrong")


def enqueue_another(label: str) -> None:
    ran.append(("first", label))
    enqueue(note, f"after {label}")
    db.session.commit()


@pytest.fixture(autouse=True)
def _clear_ran():
    ran.clear()
    yield
    ran.clear()


@pytest.fixture()
def partnership(db_session) -> Partnership:
    partnership = Partnership(name="Jobs Test Partnership")
    db_session.add(partnership)
    db_session.commit()
    return partnership


def _reload(partnership: Partnership) -> Partnership:
    db.session.expire_all()
    return db.session.get(Partnership, partnership.id)


# -- inline --


def test_tests_run_jobs_inline(app):
    assert runs_inline(app)


def test_a_job_runs_when_commit_returns_not_before(app, db_session):
    with app.test_request_context("/"):
        enqueue(note, "hello", extra=[1, Decimal("2.5"), date(2026, 12, 25)])
        assert ran == []
        assert [job.name for job in pending_jobs()] == ["tests.core.test_core_jobs.note"]
        db.session.commit()
        assert ran == [("note", "hello", [1, Decimal("2.5"), date(2026, 12, 25)])]
        assert pending_jobs() == []


def test_a_job_runs_once_in_its_own_session_and_is_audited_as_the_job(app, partnership):
    partnership.qa_group_name = "Renamed group"  # a change in the same transaction as the enqueue
    enqueue(rename_partnership, partnership.id, "Renamed by a job")
    db.session.commit()
    assert ran == [("rename", "Jobs Test Partnership", "Renamed by a job")]
    reloaded = _reload(partnership)
    assert reloaded.name == "Renamed by a job"
    assert reloaded.qa_group_name == "Renamed group"
    actors = db.session.scalars(
        sa.select(AuditEvent.actor_label).where(
            AuditEvent.entity_type == "Partnership",
            AuditEvent.entity_id == partnership.id,
            AuditEvent.action == "update",
        )
    ).all()
    assert "job:tests.core.test_core_jobs.rename_partnership" in actors
    db.session.commit()  # nothing more to run
    assert len(ran) == 1


def test_rollback_drops_the_jobs(db_session):
    enqueue(note, "never")
    db.session.rollback()
    assert pending_jobs() == []
    db.session.commit()
    assert ran == []


def test_closing_the_session_without_commit_drops_the_jobs(db_session):
    enqueue(note, "never")
    db.session.close()
    db.session.commit()
    assert ran == []


def test_a_rolled_back_savepoint_drops_only_its_own_jobs(db_session):
    enqueue(note, "outer")
    nested = db.session.begin_nested()
    enqueue(note, "inner, rolled back")
    nested.rollback()
    with db.session.begin_nested():
        enqueue(note, "inner, kept")
    assert ran == []  # releasing a savepoint is not the commit
    db.session.commit()
    assert [label for _, label, _ in ran] == ["outer", "inner, kept"]


def test_a_failing_job_is_logged_and_the_others_still_run(db_session, partnership, caplog):
    enqueue(fail, "boom")
    enqueue(rename_partnership, partnership.id, "Still renamed")
    with caplog.at_level(logging.ERROR, logger="audit_app.core.jobs"):
        db.session.commit()  # does not raise
    assert [entry[0] for entry in ran] == ["fail", "rename"]
    assert "job tests.core.test_core_jobs.fail failed" in caplog.text
    assert "the job went wrong" in caplog.text
    assert _reload(partnership).name == "Still renamed"


def test_a_job_can_enqueue_jobs_of_its_own(db_session):
    enqueue(enqueue_another, "one")
    db.session.commit()
    assert ran == [("first", "one"), ("note", "after one", None)]


# -- what enqueue refuses --


def test_orm_objects_are_refused_with_a_clear_message(partnership):
    with pytest.raises(
        TypeError, match=r"argument 'partnership_id' is a Partnership \(a database object\): pass its id"
    ):
        enqueue(rename_partnership, partnership, "x")
    with pytest.raises(TypeError, match=r"argument 'extra'\[0\]\['p'\] is a Partnership"):
        enqueue(note, "x", extra=[{"p": partnership}])
    assert pending_jobs() == []


def test_other_unpicklable_or_rich_values_are_refused(db_session):
    with pytest.raises(TypeError, match="argument 'extra' is a object: jobs take plain values"):
        enqueue(note, "x", extra=object())
    with pytest.raises(TypeError, match="argument 'label' is a function"):
        enqueue(note, note)


def test_only_module_level_functions_are_jobs(db_session):
    def local() -> None:
        pass

    for func in (local, lambda: None, print, Partnership.__repr__):
        with pytest.raises(TypeError, match="module-level function"):
            enqueue(func)


def test_arguments_must_fit_the_function(db_session):
    with pytest.raises(TypeError, match=r"enqueue\(tests.core.test_core_jobs.note\): .*label"):
        enqueue(note)
    with pytest.raises(TypeError, match="unexpected keyword"):
        enqueue(note, "x", colour="red")


# -- RQ on a real Redis --


@pytest.fixture()
def redis_jobs(app, db_session, monkeypatch):
    """Jobs go to RQ on a real Redis (database flushed before and after)."""
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL} (set TEST_REDIS_URL)")
    connection.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    yield queue(app)
    connection.flushdb()
    connection.close()


def _work(jobs_queue) -> None:
    from rq import SimpleWorker

    SimpleWorker([jobs_queue], connection=jobs_queue.connection).work(burst=True)


def test_with_redis_jobs_wait_for_a_worker(app, redis_jobs, partnership):
    assert not runs_inline(app)
    assert redis_jobs.name == "audit"
    enqueue(rename_partnership, partnership.id, "Renamed on RQ")
    assert redis_jobs.count == 0  # not before commit
    db.session.commit()
    assert redis_jobs.count == 1
    assert ran == []  # queued, not run
    _work(redis_jobs)
    assert redis_jobs.count == 0
    assert ran == [("rename", "Jobs Test Partnership", "Renamed on RQ")]
    assert _reload(partnership).name == "Renamed on RQ"


def test_with_redis_a_rollback_queues_nothing(redis_jobs):
    enqueue(note, "never")
    db.session.rollback()
    db.session.commit()
    assert redis_jobs.count == 0


def test_with_redis_a_failing_job_lands_in_the_failed_registry(redis_jobs):
    enqueue(fail, "on rq")
    db.session.commit()
    _work(redis_jobs)
    assert ran == [("fail", "on rq")]
    assert redis_jobs.failed_job_registry.count == 1


def test_the_worker_command_runs_the_queue(app, redis_jobs, partnership):
    enqueue(rename_partnership, partnership.id, "Renamed by flask jobs worker")
    db.session.commit()
    result = app.test_cli_runner().invoke(jobs_cli, ["worker", "--burst", "--simple"])
    assert result.exit_code == 0, result.output
    assert "Worker for queue 'audit' at redis://" in result.output
    assert _reload(partnership).name == "Renamed by flask jobs worker"


def test_with_redis_unreachable_the_job_runs_here_rather_than_being_lost(app, db_session, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    enqueue(note, "fallback")
    with caplog.at_level(logging.ERROR, logger="audit_app.core.jobs"):
        db.session.commit()
    assert ran == [("note", "fallback", None)]
    assert "could not be queued" in caplog.text


def test_the_worker_command_needs_redis(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    result = app.test_cli_runner().invoke(jobs_cli, ["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output
