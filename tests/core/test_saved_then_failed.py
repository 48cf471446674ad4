"""A change that was committed is never reported as failed (issue 10, defect 10).

The fault is injected at the database driver, the one part not ours: once the request has committed,
every later SELECT fails as it would if the server went away. What the view does, and what the error
handlers answer, are the app's own code, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from audit_app.extensions import db
from audit_app.rounds import services
from audit_app.rounds.models import Return, ReturnStatus
from tests.api.test_api_parity import _police_return, open_round, version  # noqa: F401 (fixtures)
from tests.conftest import login


@contextmanager
def connection_lost_after_commit() -> Iterator[dict[str, int]]:
    """Within the block, the first commit arms a fault: every SELECT after it fails like a lost server."""
    state = {"armed": 0, "failed": 0}

    def arm(session: Session) -> None:
        state["armed"] = 1

    def fail(conn, cursor, statement, parameters, context, executemany) -> None:
        if state["armed"] and statement.lstrip().upper().startswith("SELECT"):
            state["failed"] += 1
            raise sa.exc.OperationalError(statement, parameters, Exception("server closed the connection"))

    engine = db.engine
    sa.event.listen(Session, "after_commit", arm)
    sa.event.listen(engine, "before_cursor_execute", fail)
    try:
        yield state
    finally:
        sa.event.remove(engine, "before_cursor_execute", fail)
        sa.event.remove(Session, "after_commit", arm)


def _stored(return_id: int) -> dict:
    """What the database holds now (the handler threw the request's session away, and the objects with it)."""
    return services.stored_answers(db.session.get(Return, return_id))


def test_an_api_save_that_committed_answers_saved_even_if_reading_it_back_fails(api, world, open_round):  # noqa: F811
    ret = _police_return(open_round, world)
    return_id, body = ret.id, {"lock_version": ret.lock_version, "answers": {"signs_recognised": "Yes"}}
    auditor = api(world.user("auditor"))  # its token is made (and committed) before the fault is set
    assert auditor.get("/api/v1/me").status_code == 200  # and its last-used time written (once a minute)
    with connection_lost_after_commit() as fault:
        response = auditor.put(f"/api/v1/returns/{return_id}/answers", json=body)
    assert fault["failed"] >= 1, "the view read after its commit (else this test proves nothing)"
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {"saved": True, "message": response.json["message"]}
    assert "was saved" in response.json["message"] and "Do not make the change again" in response.json["message"]
    assert _stored(return_id)["signs_recognised"] == "Yes"


def test_a_page_save_that_committed_says_saved_even_if_the_next_read_fails(client, world, open_round):  # noqa: F811
    ret = _police_return(open_round, world)
    return_id, lock = ret.id, ret.lock_version
    login(client, world.user("auditor"))
    with connection_lost_after_commit() as fault:
        page = client.post(
            f"/returns/{return_id}/sections/recognition", data={"lock_version": lock, "q-signs_recognised": "No"}
        )
    assert fault["failed"] >= 1
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Your change was saved" in text and "Do not make the change again" in text
    assert "Sorry" not in text and 'class="govuk-template"' in text
    assert _stored(return_id)["signs_recognised"] == "No"


def test_a_failure_before_any_commit_still_says_nothing_was_saved(client, world, open_round):  # noqa: F811
    """The other side: a read that fails before anything is committed is the 503 'nothing saved'."""
    ret = _police_return(open_round, world)
    return_id = ret.id
    login(client, world.user("agency_lead"))
    state = {"on": True}

    def fail(conn, cursor, statement, parameters, context, executemany) -> None:
        if state["on"] and "FROM returns" in statement:
            raise sa.exc.OperationalError(statement, parameters, Exception("server closed the connection"))

    sa.event.listen(db.engine, "before_cursor_execute", fail)
    try:
        page = client.post(f"/returns/{return_id}/submit")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", fail)
    assert page.status_code == 503 and "Nothing you sent was saved" in page.get_data(as_text=True)
    assert db.session.get(Return, return_id).status == ReturnStatus.NOT_STARTED


def test_bookkeeping_committed_before_the_view_does_not_count_as_the_change(api, world, open_round):  # noqa: F811
    """A token's first use in a minute commits its last-used time before the view runs. If the database is
    lost right after that, the save never happened: the answer is the 503 'nothing saved', not 'saved'."""
    ret = _police_return(open_round, world)
    return_id, body = ret.id, {"lock_version": ret.lock_version, "answers": {"signs_recognised": "Yes"}}
    auditor = api(world.user("auditor"))
    with connection_lost_after_commit() as fault:
        response = auditor.put(f"/api/v1/returns/{return_id}/answers", json=body)
    assert fault["failed"] >= 1
    assert response.status_code == 503 and "Nothing you sent was saved" in response.json["error"]["message"]
    assert "signs_recognised" not in _stored(return_id)
