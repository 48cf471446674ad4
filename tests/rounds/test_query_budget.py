"""List and return pages run a fixed number of queries, however many returns or answers they show.

Built on the shipped CSE case audit (its nine sections and their questions), the page a QA member and an
auditor open most. A page whose query count grows with its rows fails here before it slows a partnership.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.extensions import db
from audit_app.rounds.models import Return, RoundStatus
from tests.conftest import login
from tests.factories import make_questionnaire, make_return_answered, make_round, valid_answers

#: the most statements a list or return page may run (session, principal, page, its parts)
BUDGET = 25


def _round(world, cases: int):
    version = make_questionnaire(world.partnership.id, library_key="cse_case_audit")
    round_ = make_round(
        world.partnership.id,
        version=version,
        title="CSE",
        agencies=[world.police, world.health],
        cases=[f"CS-{n}" for n in range(cases)],
        status=RoundStatus.OPEN,
    )
    db.session.commit()
    return round_


def _answer(ret: Return, user, limit: int | None = None) -> int:
    answers = valid_answers(ret, limit)
    make_return_answered(ret, user, answers=answers)
    db.session.commit()
    return len(answers)


def _statements(client, count_queries, url: str) -> int:
    client.get(url)  # the first request of a test also loads who is signed in; count a settled one
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    import os

    if os.environ.get("SHOW_QUERIES"):
        print(url, *counter.statements, sep="\n---\n")
    return counter.count


@pytest.mark.parametrize("role", ["qa_member", "auditor"])
def test_my_returns_runs_the_same_queries_for_two_returns_as_for_sixty(client, world, count_queries, role):
    login(client, world.user(role))
    small = _round(world, 1)
    few = _statements(client, count_queries, "/returns")
    _round(world, 30)  # 60 more returns, 30 of them the police's
    many = _statements(client, count_queries, "/returns")
    assert few == many <= BUDGET
    assert client.get("/returns").get_data(as_text=True).count("/returns/") >= 30
    assert small


def test_my_returns_is_paginated(client, world):
    _round(world, 40)  # 80 returns
    login(client, world.user("qa_member"))
    first = client.get("/returns").get_data(as_text=True)
    assert "80 returns, showing 1 to 50" in first
    assert 'href="/returns?page=2"' in first
    second = client.get("/returns?page=2").get_data(as_text=True)
    assert "showing 51 to 80" in second
    assert client.get("/returns?page=3").status_code == 404
    bad = client.get("/returns?page=two")
    assert bad.status_code == 400 and "page must be a whole number" in bad.get_data(as_text=True)


def test_a_return_and_its_section_pages_do_not_grow_with_their_answers(client, world, count_queries):
    round_ = _round(world, 2)
    returns = db.session.scalars(
        sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == world.police.agency_id)
    ).all()
    few, full = returns
    auditor = world.user("auditor")
    assert _answer(few, auditor, limit=2) == 2
    assert _answer(full, auditor) > 40
    login(client, auditor)
    for path in ("", "/sections/recognition"):
        some = _statements(client, count_queries, f"/returns/{few.id}{path}")
        every = _statements(client, count_queries, f"/returns/{full.id}{path}")
        assert some == every <= BUDGET, (path, some, every)


def _grow(world, pages: str, n: int) -> None:
    """Add ``n`` more of what the list page ``pages`` lists."""
    from audit_app.accounts.models import Role
    from tests.factories import make_agency, make_questionnaire, make_round, make_user

    pid = world.partnership.id
    for i in range(n):
        if pages == "rounds":
            version = make_questionnaire(pid, library_key="cse_case_audit", key=f"cse_{pages}_{n}_{i}")
            make_round(pid, version=version, title=f"Round {n}.{i}", agencies=[world.police], cases=1)
        elif pages == "agencies":
            make_agency(pid, sector_key="health")
        elif pages == "users":
            make_user(pid, Role.AUDITOR, agency=world.police)
        elif pages == "questionnaires":
            make_questionnaire(pid, library_key="cse_case_audit", key=f"cse_copy_{n}_{i}")
    db.session.commit()


@pytest.mark.parametrize(
    ("url", "what", "role"),
    [
        ("/rounds", "rounds", "qa_member"),
        ("/admin/agencies", "agencies", "admin"),
        ("/admin/users", "users", "admin"),
        ("/questionnaires", "questionnaires", "qa_member"),
    ],
)
def test_list_pages_run_the_same_queries_for_a_few_rows_as_for_many(client, world, count_queries, url, what, role):
    login(client, world.user(role))
    _grow(world, what, 2)
    few = _statements(client, count_queries, url)
    _grow(world, what, 8)
    many = _statements(client, count_queries, url)
    assert few == many <= BUDGET, (url, few, many)


def test_a_case_audit_round_page_does_not_grow_with_its_cases(client, world, count_queries):
    """The round page lists every case with its agencies and warns of agencies nobody can complete for: the
    agencies of all its cases come in one query, not one a case (a round of 300 cases ran 325 queries)."""
    login(client, world.user("admin"))
    small, large = _round(world, 2).id, _round(world, 30).id
    db.session.expunge_all()  # as in a request of its own: nothing of the rounds already loaded
    few = _statements(client, count_queries, f"/rounds/{small}")
    many = _statements(client, count_queries, f"/rounds/{large}")
    assert few == many <= BUDGET, (few, many)
    page = client.get(f"/rounds/{large}").get_data(as_text=True)
    assert page.count("North Hospital; North Police") == 30


def test_the_page_header_reads_the_partnerships_once_however_many_form_fields_a_page_draws(
    client, world, count_queries
):
    """Every template rendered runs the context processors (govuk_frontend_wtf draws each form field with one):
    the header's partnerships are read once a request."""
    login(client, world.user("admin"))
    round_ = _round(world, 1)  # an open round: its page has the add-a-case form
    client.get(f"/rounds/{round_.id}")
    with count_queries() as counter:
        page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert 'name="reference"' in page
    assert sum("FROM partnerships" in s and "memberships" in s for s in counter.statements) == 1


def test_the_case_discussion_does_not_grow_with_the_answers(client, world, count_queries):
    """The discussion shows every agency's answers: their questions come with them, not one a query."""
    round_ = _round(world, 2)
    police = db.session.scalars(
        sa.select(Return)
        .where(Return.round_id == round_.id, Return.agency_id == world.police.agency_id)
        .order_by(Return.id)
    ).all()
    few, full = police
    auditor = world.user("auditor")
    assert _answer(few, auditor, limit=2) == 2
    assert _answer(full, auditor) > 40
    round_.status = RoundStatus.CLOSED
    db.session.commit()
    few_case, full_case = few.round_case_id, full.round_case_id
    login(client, world.user("qa_member"))
    some = _statements(client, count_queries, f"/rounds/{round_.id}/cases/{few_case}/discussion")
    every = _statements(client, count_queries, f"/rounds/{round_.id}/cases/{full_case}/discussion")
    assert some == every <= BUDGET, (some, every)
