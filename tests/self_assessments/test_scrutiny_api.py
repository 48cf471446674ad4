"""The scrutiny API on a hand-built Section 11 round: threads and messages, closing, moderation set and
cleared, moderators, priority criteria and the follow-up list, with ids and keys beside labels, and bad input
named field by field."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.accounts.models import Role
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.rounds.models import Return, RoundStatus
from audit_app.self_assessments import scrutiny
from tests.factories import make_questionnaire, make_return_answered, make_round, make_user, valid_answers

S11 = "section11_self_assessment"
NAMED_LEAD = "leadership_named_lead"
STRATEGY = "leadership_strategy"


@pytest.fixture()
def s11(world):
    version = make_questionnaire(world.partnership.id, library_key=S11)
    round_ = make_round(
        world.partnership.id,
        version=version,
        title="Section 11, 2027",
        agencies=[world.police],
        status=RoundStatus.OPEN,
    )
    ret = db.session.scalar(sa.select(Return).where(Return.round_id == round_.id))
    return round_, ret


def _submit(ret: Return, user, **ratings: str) -> None:
    answers = valid_answers(ret)
    answers.update(ratings)
    make_return_answered(ret, user, answers=answers, submit=True)
    db.session.commit()


def test_threads_through_the_api_both_sides(api, world, s11, mailbox):
    _, ret = s11
    qa, auditor = api(world.user("qa_member")), api(world.user("auditor"))
    base = f"/api/v1/returns/{ret.id}/threads"

    # a kind outside the closed set is refused by the schema (the document lists the three)
    bad = qa.post(base, json={"question_key": "nope", "kind": "gossip", "body": ""})
    assert bad.status_code == 400 and "kind" in bad.json["error"]["fields"]
    # with a known kind, every other bad field is named at once
    bad = qa.post(base, json={"question_key": "nope", "kind": "query", "body": ""})
    assert bad.status_code == 400
    assert set(bad.json["error"]["fields"]) == {"question_key", "body"}
    assert qa.post(base, json={"question_key": NAMED_LEAD}).status_code == 400  # kind and body missing
    assert qa.post(base, json={"question_key": NAMED_LEAD, "kind": "query", "body": "x", "extra": 1}).status_code == 400
    assert auditor.post(base, json={"question_key": NAMED_LEAD, "kind": "query", "body": "x"}).status_code == 403

    created = qa.post(base, json={"question_key": NAMED_LEAD, "kind": "query", "body": "Where is it written?"})
    assert created.status_code == 201, created.json
    thread = created.json
    assert thread["question_key"] == NAMED_LEAD and thread["question_text"].startswith("A named member")
    assert (thread["kind"], thread["kind_label"], thread["state"], thread["state_label"]) == (
        "query",
        "Query",
        "open",
        "Open",
    )
    assert thread["agency_id"] == world.police.agency_id and thread["agency_name"] == "North Police"
    assert thread["messages"][0]["side"] == "qa" and thread["messages"][0]["author"]["name"]
    assert "Where is it written?" in mailbox[-1].get_content()

    answered = auditor.post(f"/api/v1/threads/{thread['id']}/messages", json={"body": "In the terms of reference."})
    assert answered.status_code == 201 and answered.json["state"] == "answered"
    assert [m["side"] for m in answered.json["messages"]] == ["qa", "agency"]
    assert auditor.post(f"/api/v1/threads/{thread['id']}/messages", json={"body": " "}).status_code == 400
    assert auditor.post(f"/api/v1/threads/{thread['id']}/close").status_code == 403
    assert (
        api(world.user("scrutineer")).post(f"/api/v1/threads/{thread['id']}/messages", json={"body": "Hi"}).status_code
        == 403
    )

    listed = auditor.get(f"{base}?state=answered&question_key={NAMED_LEAD}")
    assert listed.status_code == 200 and [t["id"] for t in listed.json["items"]] == [thread["id"]]
    assert auditor.get(f"{base}?state=closed").json["items"] == []
    assert auditor.get(f"{base}?state=shut").status_code == 400

    closed = qa.post(f"/api/v1/threads/{thread['id']}/close")
    assert closed.status_code == 200 and closed.json["state"] == "closed" and closed.json["closed_at"]
    assert qa.post(f"/api/v1/threads/{thread['id']}/close").status_code == 409
    assert auditor.post(f"/api/v1/threads/{thread['id']}/messages", json={"body": "More"}).status_code == 409
    assert auditor.get(f"/api/v1/threads/{thread['id']}").json["state"] == "closed"
    # another partnership finds nothing
    assert api(world.user("other_admin")).get(f"/api/v1/threads/{thread['id']}").status_code == 404


def test_moderation_through_the_api_keeps_the_self_rating(api, world, s11):
    _, ret = s11
    qa = api(world.user("qa_member"))
    url = f"/api/v1/returns/{ret.id}/moderation/{NAMED_LEAD}"
    question = scrutiny.criterion(ret, NAMED_LEAD)
    levels = {level.label: level.id for level in question.scale.levels}
    early = qa.put(url, json={"level_id": levels["Not met"], "reason": "Too soon"})
    assert early.status_code == 409
    _submit(ret, world.user("agency_lead"), **{NAMED_LEAD: "Fully met"})

    bad = qa.put(url, json={"level_id": 999999, "reason": ""})
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"level_id", "reason"}
    assert qa.put(url, json={"level_id": "two"}).status_code == 400
    assert qa.put(f"/api/v1/returns/{ret.id}/moderation/nope", json={}).status_code == 404
    assert (
        api(world.user("agency_lead")).put(url, json={"level_id": levels["Not met"], "reason": "x"}).status_code == 403
    )

    set_ = qa.put(url, json={"level_id": levels["Partly met"], "reason": "Named, but not in post yet"})
    assert set_.status_code == 200, set_.json
    assert set_.json["self_level"]["label"] == "Fully met" and set_.json["self_level"]["id"] == levels["Fully met"]
    assert set_.json["moderated_level"] == {
        "id": levels["Partly met"],
        "label": "Partly met",
        "counts_as_good": False,
        "is_not_applicable": False,
    }
    # the agency reads it in its return's scrutiny
    seen = api(world.user("auditor")).get(f"/api/v1/returns/{ret.id}/scrutiny")
    assert seen.status_code == 200 and seen.json["can_scrutinise"] is False
    row = next(c for c in seen.json["criteria"] if c["question_key"] == NAMED_LEAD)
    assert row["moderation_note"] == "Named, but not in post yet" and row["answer"] == "Fully met"
    assert qa.get(f"/api/v1/returns/{ret.id}/scrutiny").json["can_scrutinise"] is True

    cleared = qa.delete(url)
    assert cleared.status_code == 200 and cleared.json["moderated_level"] is None
    assert cleared.json["self_level"]["label"] == "Fully met" and cleared.json["moderation_note"] == ""
    assert qa.delete(url).status_code == 200
    row = next(
        c for c in qa.get(f"/api/v1/returns/{ret.id}/scrutiny").json["criteria"] if c["question_key"] == NAMED_LEAD
    )
    assert row["moderated_level"] is None and row["self_level"]["label"] == "Fully met"


def test_moderators_priorities_and_the_follow_up_list_through_the_api(api, world, s11):
    round_, ret = s11
    admin, qa = api(world.user("admin")), api(world.user("qa_member"))
    base = f"/api/v1/rounds/{round_.id}"
    with system_actor("test:setup"):
        independent = make_user(world.partnership.id, Role.SCRUTINEER, email="independent@north.example.org")
        db.session.commit()

    assert admin.post(f"{base}/moderators", json={"user_id": world.user("other_admin").id}).status_code == 400
    assert admin.post(f"{base}/moderators", json={"user_id": "1"}).status_code == 400
    added = admin.post(f"{base}/moderators", json={"user_id": independent.id})
    assert added.status_code == 201 and [m["user_id"] for m in added.json["moderators"]] == [independent.id]
    assert admin.post(f"{base}/moderators", json={"user_id": independent.id}).status_code == 409
    assert api(world.user("scrutineer")).post(f"{base}/moderators", json={"user_id": independent.id}).status_code == 403
    # the moderator reads the round's follow-up list and queries its returns
    moderator = api(independent)
    assert moderator.get(f"{base}/follow-up").status_code == 200
    assert (
        moderator.post(
            f"/api/v1/returns/{ret.id}/threads", json={"question_key": NAMED_LEAD, "kind": "comment", "body": "Fine"}
        ).status_code
        == 201
    )

    assert qa.put(f"{base}/priority-criteria", json={"question_keys": ["nope"]}).status_code == 400
    assert qa.put(f"{base}/priority-criteria", json={"question_keys": "leadership"}).status_code == 400
    chosen = qa.put(f"{base}/priority-criteria", json={"question_keys": [STRATEGY, NAMED_LEAD]})
    assert chosen.status_code == 200 and chosen.json["question_keys"] == [NAMED_LEAD, STRATEGY]
    assert chosen.json["criteria"][0]["question_text"].startswith("A named member")
    assert api(world.user("scrutineer")).get(f"{base}/priority-criteria").json["question_keys"] == [
        NAMED_LEAD,
        STRATEGY,
    ]

    _submit(ret, world.user("agency_lead"), **{NAMED_LEAD: "Not met", STRATEGY: "Fully met"})
    follow = qa.get(f"{base}/follow-up")
    assert follow.status_code == 200
    assert follow.json["priority_keys"] == [NAMED_LEAD, STRATEGY]
    (row,) = follow.json["rows"]
    assert (row["return_id"], row["agency_id"], row["question_key"], row["self_level"]["label"]) == (
        ret.id,
        world.police.agency_id,
        NAMED_LEAD,
        "Not met",
    )
    assert row["moderated_level"] is None and row["url"].endswith(f"/scrutiny/returns/{ret.id}/criteria/{NAMED_LEAD}")
    assert api(world.user("auditor")).get(f"{base}/follow-up").status_code == 403

    removed = admin.delete(f"{base}/moderators/{independent.id}")
    assert removed.status_code == 200 and removed.json == {"round_id": round_.id, "moderators": []}
    assert admin.delete(f"{base}/moderators/{independent.id}").status_code == 200
    assert admin.get(f"{base}/moderators").json["moderators"] == []
    # no longer a moderator: an independent scrutineer reads, but queries nothing now
    assert moderator.get(f"{base}/follow-up").status_code == 200
    assert (
        moderator.post(
            f"/api/v1/returns/{ret.id}/threads", json={"question_key": NAMED_LEAD, "kind": "comment", "body": "Again"}
        ).status_code
        == 403
    )
