"""Command-line tools: demo data, partnerships, API tokens; and Redis-backed rate limits."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from audit_app import create_app
from audit_app.accounts.demo import AGENCIES, DEMO_PASSWORD, PARTNERSHIP, USERS
from audit_app.accounts.models import Agency, ApiToken, Partnership, PartnershipAgency, User
from audit_app.extensions import db


@pytest.fixture()
def runner(app, db_session):
    return app.test_cli_runner()


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_demo_load_is_idempotent(runner, client):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "Demo partnership loaded, with" in first.output
    assert DEMO_PASSWORD in first.output
    counts = (_count(Partnership), _count(Agency), _count(User), _count(PartnershipAgency))
    second = runner.invoke(args=["demo", "load"])
    assert "already present; nothing changed" in second.output
    assert (_count(Partnership), _count(Agency), _count(User), _count(PartnershipAgency)) == counts
    north = db.session.scalar(sa.select(Partnership).where(Partnership.name == PARTNERSHIP))
    agencies = db.session.scalar(
        sa.select(sa.func.count()).select_from(PartnershipAgency).where(PartnershipAgency.partnership_id == north.id)
    )
    from audit_app.self_assessments.demo import SCHOOL_NAMES

    # the partnership's agencies, and the schools and early years settings of the s175 round
    assert agencies == len(AGENCIES) + len(SCHOOL_NAMES) and len(AGENCIES) >= 12
    # The shipped library, published, in the demo partnership.
    from audit_app.questionnaires.models import Questionnaire, VersionStatus
    from audit_app.questionnaires.services import library

    demo_questionnaires = db.session.scalars(
        sa.select(Questionnaire).where(Questionnaire.partnership_id == north.id)
    ).all()
    assert len(demo_questionnaires) == len(library()) >= 7
    assert all(q.latest.status == VersionStatus.PUBLISHED for q in demo_questionnaires)
    # A complete past CSE round of 20 cases, its re-audit (16 carried, 5 new), and an open round
    # with returns in every status.
    from audit_app.rounds.models import Return, ReturnStatus, Round, RoundStatus

    rounds = {
        r.title: r
        for r in db.session.scalars(
            sa.select(Round).where(Round.partnership_id == north.id, Round.kind == "case_audit")
        )
    }
    assert len(rounds) == 3
    past = rounds["CSE multi-agency case audit, autumn 2025"]
    assert past.status == RoundStatus.REPORTED and len(past.cases) == 20
    again = rounds["CSE re-audit, spring 2026"]
    assert again.status == RoundStatus.REPORTED and again.previous_round_id == past.id
    assert sum(1 for rc in again.cases if rc.previous_round_case_id) == 16 and len(again.cases) == 21
    open_statuses = set(
        db.session.scalars(
            sa.select(Return.status).where(Return.round_id == rounds["Strategy discussions audit, winter 2026"].id)
        )
    )
    assert open_statuses >= {s for s in ReturnStatus if s != ReturnStatus.ALTERNATIVE_TEMPLATE}
    # The texts read like a real round's: no sentence in more than a few cases (issue 11).
    _assert_texts_vary(north.id)
    # Every demo user can sign in with the printed password.
    for email, *_ in USERS:
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        client.post("/logout")


def test_partnership_create_and_refusals(runner):
    result = runner.invoke(
        args=[
            "partnerships",
            "create",
            "Westshire SCP",
            "--admin-email",
            "boss@west.example.org",
            "--admin-name",
            "Boss",
        ],
        input="a-long-admin-password\na-long-admin-password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@west.example.org"))
    assert user.memberships[0].role.value == "admin"
    again = runner.invoke(
        args=["partnerships", "create", "Westshire SCP", "--admin-email", "b2@west.example.org", "--admin-name", "B"],
        input="a-long-admin-password\na-long-admin-password\n",
    )
    assert again.exit_code != 0
    assert "already exists" in again.output
    short = runner.invoke(
        args=["partnerships", "create", "Eastshire SCP", "--admin-email", "e@east.example.org", "--admin-name", "E"],
        input="short\nshort\n",
    )
    assert short.exit_code != 0
    assert "password" in short.output
    assert db.session.scalar(sa.select(Partnership).where(Partnership.name == "Eastshire SCP")) is None


def test_tokens_create_list_revoke(runner, world, client):
    result = runner.invoke(
        args=[
            "tokens",
            "create",
            "--email",
            "qa@north.example.org",
            "--partnership",
            "North Test Partnership",
            "--name",
            "bi",
        ]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listing = runner.invoke(args=["tokens", "list", "--email", "qa@north.example.org"])
    assert "usable" in listing.output and secret not in listing.output
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "bi"))
    assert runner.invoke(args=["tokens", "revoke", str(token.id)]).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert runner.invoke(args=["tokens", "revoke", str(token.id)]).exit_code != 0
    bad = runner.invoke(
        args=["tokens", "create", "--email", "nobody@x.example.org", "--partnership", "X", "--name", "n"]
    )
    assert bad.exit_code != 0 and "no user" in bad.output
    other = runner.invoke(
        args=[
            "tokens",
            "create",
            "--email",
            "qa@north.example.org",
            "--partnership",
            "South Test Partnership",
            "--name",
            "n",
        ]
    )
    assert other.exit_code != 0 and "no role" in other.output


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="set TEST_REDIS_URL to test Redis-backed limits")
def test_login_rate_limit_is_shared_through_redis(app, world):
    import redis

    url = os.environ["TEST_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    limited = create_app("test", RATELIMIT_STORAGE_URI=url, LOGIN_RATE_LIMIT="3 per minute")
    data = {"email": "admin@north.example.org", "password": "wrong-password"}
    client = limited.test_client()
    statuses = [client.post("/login", data=data).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    # The counters live in Redis, so every app process behind a load balancer shares them.
    keys = [key.decode() for key in redis.Redis.from_url(url).keys("*")]
    assert any("login" in key for key in keys), keys
    redis.Redis.from_url(url).flushdb()


def test_partnership_create_with_an_existing_account_asks_no_password(runner, world):
    result = runner.invoke(
        args=[
            "partnerships",
            "create",
            "Northshire SCP",
            "--admin-email",
            "qa@north.example.org",
            "--admin-name",
            "Q",
            "--qa-group-name",
            "Learning Hub",
        ]
    )
    assert result.exit_code == 0, result.output
    partnership = db.session.scalar(sa.select(Partnership).where(Partnership.name == "Northshire SCP"))
    assert partnership.qa_group_name == "Learning Hub"
    qa = world.user("qa_member")
    db.session.refresh(qa)
    assert {(m.partnership_id, m.role.value) for m in qa.memberships} >= {(partnership.id, "admin")}


def _assert_texts_vary(partnership_id: int) -> None:
    """Every sentence the demo wrote (answers and the panel's judgements) appears in at most three cases."""
    from collections import defaultdict

    from audit_app.case_audits.models import CaseJudgement, RoundCase
    from audit_app.questionnaires.models import Question, QuestionType
    from audit_app.rounds.models import Answer, Return, Round

    in_cases: dict[str, set[int]] = defaultdict(set)
    answers = db.session.execute(
        sa.select(Answer.value, Return.round_case_id)
        .join(Return, Return.id == Answer.return_id)
        .join(Round, Round.id == Return.round_id)
        .join(Question, Question.id == Answer.question_id)
        .where(Round.partnership_id == partnership_id, Question.type == QuestionType.TEXT)
    )
    judgements = db.session.execute(
        sa.select(
            CaseJudgement.strengths,
            CaseJudgement.areas_for_development,
            CaseJudgement.recommendations,
            CaseJudgement.round_case_id,
        )
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .join(Round, Round.id == RoundCase.round_id)
        .where(Round.partnership_id == partnership_id)
    )
    for value, round_case_id in answers:
        if isinstance(value, str) and len(value) > 40:
            in_cases[value].add(round_case_id)
    for *texts, round_case_id in judgements:
        for value in texts:
            if value and len(value) > 40:
                in_cases[value].add(round_case_id)
    assert len(in_cases) > 200, "the demo writes texts"
    widest = max(in_cases.items(), key=lambda item: len(item[1]))
    assert len(widest[1]) <= 3, f"{widest[0]!r} is written in {len(widest[1])} cases"
