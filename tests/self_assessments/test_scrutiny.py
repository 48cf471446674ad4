"""Scrutiny of self-assessment returns on hand-built Section 11 rounds: threads per criterion with emails both
ways, moderated ratings beside the self-rating, named moderators, priority criteria and the follow-up list,
through the services and the pages; and who sees what, as a table of roles x objects."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.accounts.models import Role
from audit_app.core.audit import AuditEvent, system_actor
from audit_app.core.errors import ConflictError, FieldErrors, NotAllowedError
from audit_app.extensions import db
from audit_app.questionnaires.models import QuestionnaireKind, ScaleLevel
from audit_app.rounds.models import Return, ReturnStatus, Round, RoundStatus
from audit_app.self_assessments import scrutiny
from audit_app.self_assessments.models import MessageSide, ScrutinyThread, ThreadState
from tests.conftest import login
from tests.factories import (
    make_questionnaire,
    make_return_answered,
    make_round,
    make_user,
    valid_answers,
)
from tests.self_assessments.test_shared_rounds import _share_and_open
from tests.self_assessments.test_shared_rounds import shared as shared_round  # noqa: F401  (a fixture)

S11 = "section11_self_assessment"
#: two rated criteria of the Section 11 library questionnaire, and one answered in text
NAMED_LEAD = "leadership_named_lead"
STRATEGY = "leadership_strategy"
REPORTING = "leadership_reporting"
EVIDENCE = "leadership_named_lead_evidence"


def _return_of(round_: Round, agency_id: int) -> Return:
    return db.session.scalar(sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == agency_id))


def _level(ret: Return, key: str, label: str) -> ScaleLevel:
    question = scrutiny.criterion(ret, key)
    return next(level for level in question.scale.levels if level.label == label)


@pytest.fixture()
def s11(world):
    """An open Section 11 round for police and the hospital, each with a lead; nothing answered yet."""
    version = make_questionnaire(world.partnership.id, library_key=S11)
    round_ = make_round(
        world.partnership.id,
        version=version,
        title="Section 11, 2027",
        agencies=[world.police, world.health],
        status=RoundStatus.OPEN,
    )
    with system_actor("test:setup"):
        health_lead = make_user(
            world.partnership.id, Role.AGENCY_LEAD, email="lead@hospital.example.org", agency=world.health
        )
        db.session.commit()
    return {
        "round": round_,
        "police": _return_of(round_, world.police.agency_id),
        "health": _return_of(round_, world.health.agency_id),
        "health_lead": health_lead,
    }


def _submit(ret: Return, by, **ratings: str) -> Return:
    answers = valid_answers(ret)
    answers.update(ratings)
    return make_return_answered(ret, by, answers=answers, submit=True)


# -- threads --


def test_a_thread_is_opened_answered_reopened_and_closed_with_emails_both_ways(world, s11, mailbox):
    police = s11["police"]
    qa = world.user("qa_member")
    with system_actor("test:setup"):
        thread = scrutiny.open_thread(police, NAMED_LEAD, "query", "  Where is this written down?  ", by=qa)
        db.session.commit()
    assert thread.state == ThreadState.OPEN and thread.kind.label == "Query"
    assert [m.body for m in thread.messages] == ["Where is this written down?"]
    # the agency's lead and auditor are emailed, with a link to the criterion
    to_agency = mailbox[-1]
    assert set(to_agency["To"].split(", ")) == {"auditor@north.example.org", "lead@north.example.org"}
    assert f"/scrutiny/returns/{police.id}/criteria/{NAMED_LEAD}" in to_agency.get_content()
    assert "Where is this written down?" in to_agency.get_content()

    with system_actor("test:setup"):
        moderator = make_user(world.partnership.id, Role.SCRUTINEER, email="independent@north.example.org")
        scrutiny.add_moderator(s11["round"], moderator.id, by=world.user("admin"))
        scrutiny.add_message(
            thread, "In the board's terms of reference.", by=world.user("auditor"), side=MessageSide.AGENCY
        )
        db.session.commit()
    assert thread.state == ThreadState.ANSWERED
    # the QA group and the round's moderators hear of the answer, not the agency
    to_qa = mailbox[-1]
    assert set(to_qa["To"].split(", ")) == {"qa@north.example.org", "independent@north.example.org"}
    assert "North Police answered" in to_qa["Subject"]

    with system_actor("test:setup"):
        scrutiny.add_message(thread, "Please attach them.", by=qa, side=MessageSide.QA)
        assert thread.state == ThreadState.OPEN
        scrutiny.close_thread(thread, by=qa)
        db.session.commit()
    assert thread.state == ThreadState.CLOSED and thread.closed_by_id == qa.id and thread.closed_at is not None
    with pytest.raises(NotAllowedError):
        scrutiny.add_message(thread, "One more thing", by=qa, side=MessageSide.QA)
    with pytest.raises(NotAllowedError):
        scrutiny.close_thread(thread, by=qa)


def test_a_thread_names_every_bad_field_at_once_and_saves_nothing(world, s11):
    police = s11["police"]
    with pytest.raises(FieldErrors) as refused:
        scrutiny.open_thread(police, "no_such_question", "gossip", "   ", by=world.user("qa_member"))
    assert set(refused.value.fields) == {"question_key", "kind", "body"}
    with pytest.raises(FieldErrors) as too_long:
        scrutiny.open_thread(police, NAMED_LEAD, "comment", "x" * (scrutiny.MAX_MESSAGE + 1), by=world.user("admin"))
    assert set(too_long.value.fields) == {"body"}
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScrutinyThread)) == 0


# -- moderation --


def test_a_moderated_rating_sits_beside_the_self_rating_which_is_never_overwritten(world, s11):
    police = s11["police"]
    qa = world.user("qa_member")
    not_met = _level(police, NAMED_LEAD, "Not met")
    # not before the agency has submitted
    with pytest.raises(NotAllowedError):
        scrutiny.set_moderation(police, NAMED_LEAD, not_met.id, "Weak evidence", by=qa)
    _submit(police, world.user("agency_lead"), **{NAMED_LEAD: "Fully met"})
    db.session.commit()
    fully_met = _level(police, NAMED_LEAD, "Fully met")
    # every bad field at once: no level, no reason
    with pytest.raises(FieldErrors) as refused:
        scrutiny.set_moderation(police, NAMED_LEAD, None, "  ", by=qa)
    assert set(refused.value.fields) == {"level_id", "reason"}
    # a level of another scale, a text criterion, a criterion the return does not have
    other_scale = db.session.scalar(sa.select(ScaleLevel).where(ScaleLevel.scale_id != not_met.scale_id))
    with pytest.raises(FieldErrors) as wrong_level:
        scrutiny.set_moderation(police, NAMED_LEAD, other_scale.id, "Reason", by=qa)
    assert set(wrong_level.value.fields) == {"level_id"}
    for key in (EVIDENCE, "no_such_question"):
        with pytest.raises(FieldErrors):
            scrutiny.set_moderation(police, key, not_met.id, "Reason", by=qa)

    with system_actor("test:setup"):
        answer = scrutiny.set_moderation(police, NAMED_LEAD, not_met.id, "No job description names the lead", by=qa)
        db.session.commit()
    db.session.expire_all()
    answer = scrutiny.answer_of(police, NAMED_LEAD)
    assert answer.scale_level_id == fully_met.id  # the self-rating stays
    assert answer.moderated_level_id == not_met.id and answer.moderation_note == "No job description names the lead"
    # audited: the change is in the trail with the moderated level
    event = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "Answer", AuditEvent.entity_id == answer.id, AuditEvent.action == "update")
        .order_by(AuditEvent.id.desc())
    )
    assert event is not None and event.after["moderated_level_id"] == not_met.id

    with system_actor("test:setup"):
        assert scrutiny.clear_moderation(police, NAMED_LEAD) is True
        assert scrutiny.clear_moderation(police, NAMED_LEAD) is False
        db.session.commit()
    assert answer.moderated_level_id is None and answer.moderation_note == ""
    assert answer.scale_level_id == fully_met.id


# -- moderators --


def test_a_named_moderator_is_emailed_a_link_to_the_round_s_returns(client, world, s11, mailbox):
    round_ = s11["round"]
    with system_actor("test:setup"):
        moderator = make_user(world.partnership.id, Role.AUDITOR, email="mod@hospital.example.org", agency=world.health)
        scrutiny.add_moderator(round_, moderator.id, by=world.user("admin"))
        db.session.commit()
    message = mailbox[-1]
    assert message["To"] == "mod@hospital.example.org" and "Section 11, 2027" in message["Subject"]
    assert f"/scrutiny/rounds/{round_.id}/returns" in message.get_content()
    # the link lists the round's returns with a way into each
    login(client, moderator)
    page = client.get(f"/scrutiny/rounds/{round_.id}/returns").get_data(as_text=True)
    assert f"/scrutiny/returns/{s11['police'].id}" in page and f"/scrutiny/returns/{s11['health'].id}" in page


def test_moderators_are_users_of_the_partnership_named_once(world, s11):
    round_ = s11["round"]
    admin = world.user("admin")
    with pytest.raises(FieldErrors):
        scrutiny.add_moderator(round_, world.user("other_admin").id, by=admin)  # another partnership's
    with pytest.raises(FieldErrors):
        scrutiny.add_moderator(round_, "7", by=admin)
    with system_actor("test:setup"):
        scrutiny.add_moderator(round_, world.user("scrutineer").id, by=admin)
        db.session.commit()
    with pytest.raises(ConflictError):
        scrutiny.add_moderator(round_, world.user("scrutineer").id, by=admin)
    assert [m.user.email for m in scrutiny.moderators(round_)] == ["scrutineer@north.example.org"]
    assert world.user("scrutineer") not in scrutiny.moderator_candidates(round_)
    with system_actor("test:setup"):
        assert scrutiny.remove_moderator(round_, world.user("scrutineer").id) is True
        assert scrutiny.remove_moderator(round_, world.user("scrutineer").id) is False
        db.session.commit()
    assert scrutiny.moderators(round_) == []


# -- priority criteria and the follow-up list --


def test_the_follow_up_list_reads_level_flags_on_priority_criteria_own_or_moderated(world, s11):
    from tests.factories import principal_of

    round_, police, health = s11["round"], s11["police"], s11["health"]
    qa = world.user("qa_member")
    with pytest.raises(FieldErrors):
        scrutiny.set_priority_criteria(round_, [NAMED_LEAD, EVIDENCE])  # a text question is no priority
    with pytest.raises(FieldErrors):
        scrutiny.set_priority_criteria(round_, "leadership_named_lead")
    with system_actor("test:setup"):
        assert scrutiny.set_priority_criteria(round_, [STRATEGY, NAMED_LEAD]) == [NAMED_LEAD, STRATEGY]
        db.session.commit()
    p = principal_of(qa, world.partnership.id)
    assert scrutiny.follow_up(round_, p) == []

    # police: Not met on a priority, Partly met on a criterion that is not one
    _submit(police, world.user("agency_lead"), **{NAMED_LEAD: "Not met", REPORTING: "Partly met"})
    # the hospital: Fully met and Not applicable on the priorities, then moderated to Partly met on one
    _submit(health, s11["health_lead"], **{NAMED_LEAD: "Fully met", STRATEGY: "Not applicable"})
    db.session.commit()
    rows = scrutiny.follow_up(round_, p)
    assert [(r.agency_name, r.question_key, r.self_level.label, r.moderated_level) for r in rows] == [
        ("North Police", NAMED_LEAD, "Not met", None)
    ]
    with system_actor("test:setup"):
        scrutiny.set_moderation(
            health, NAMED_LEAD, _level(health, NAMED_LEAD, "Partly met").id, "Only the policy, no practice", by=qa
        )
        db.session.commit()
    rows = scrutiny.follow_up(round_, p)
    assert [
        (r.agency_name, r.question_key, r.self_level.label, r.moderated_level.label if r.moderated_level else None)
        for r in rows
    ] == [
        ("North Hospital", NAMED_LEAD, "Fully met", "Partly met"),
        ("North Police", NAMED_LEAD, "Not met", None),
    ]
    assert {(r.agency_name, r.moderation_note) for r in rows} == {
        ("North Hospital", "Only the policy, no practice"),
        ("North Police", ""),
    }
    # a moderation to a good level takes nobody off for their own weak rating, and a relabelled level still counts
    not_met = _level(police, NAMED_LEAD, "Not met")
    with system_actor("test:setup"):
        not_met.label = "Not yet"
        db.session.commit()
    assert {r.agency_name for r in scrutiny.follow_up(round_, p)} == {"North Hospital", "North Police"}


def test_the_follow_up_list_leaves_out_returns_not_yet_sent_and_criteria_that_are_not_priorities(world, s11):
    from tests.factories import principal_of

    round_, police = s11["round"], s11["police"]
    with system_actor("test:setup"):
        scrutiny.set_priority_criteria(round_, [NAMED_LEAD])
        db.session.commit()
    answers = valid_answers(police)
    answers[NAMED_LEAD] = "Not met"
    make_return_answered(police, world.user("auditor"), answers=answers)  # saved, not submitted
    db.session.commit()
    assert scrutiny.follow_up(round_, principal_of(world.user("qa_member"), world.partnership.id)) == []
    assert police.status != ReturnStatus.SUBMITTED


# -- who sees what: roles x objects --


@pytest.fixture()
def access(world, s11):
    """Two open Section 11 rounds (a scrutineer moderates the first), a case audit, a query on each return."""
    with system_actor("test:setup"):
        moderator = make_user(
            world.partnership.id, Role.AUDITOR, email="moderator@north.example.org", agency=world.health
        )
        scrutiny.add_moderator(s11["round"], moderator.id, by=world.user("admin"))
        second = make_round(
            world.partnership.id,
            kind=QuestionnaireKind.SELF_ASSESSMENT,
            title="Schools s175",
            agencies=[world.police],
            status=RoundStatus.OPEN,
        )
        case_audit = make_round(world.partnership.id, agencies=[world.police], cases=1, status=RoundStatus.OPEN)
        qa = world.user("qa_member")
        police, health = s11["police"], s11["health"]
        second_return = _return_of(second, world.police.agency_id)
        second_key = next(q.key for q in scrutiny.criteria(second_return) if q.type.value == "scale")
        threads = {
            "police": scrutiny.open_thread(police, NAMED_LEAD, "query", "Police?", by=qa),
            "health": scrutiny.open_thread(health, NAMED_LEAD, "query", "Hospital?", by=qa),
            "second": scrutiny.open_thread(second_return, second_key, "comment", "Schools?", by=qa),
        }
        db.session.commit()
    case_return = db.session.scalar(sa.select(Return).where(Return.round_id == case_audit.id))
    return {
        "people": {
            "admin": world.user("admin"),
            "qa_member": qa,
            "scrutineer": world.user("scrutineer"),
            "police_lead": world.user("agency_lead"),
            "police_auditor": world.user("auditor"),
            "health_lead": s11["health_lead"],
            "moderator": moderator,
            "other_partnership": world.user("other_admin"),
        },
        "returns": {
            "police": (police, NAMED_LEAD),
            "health": (health, NAMED_LEAD),
            "second": (second_return, second_key),
        },
        "threads": threads,
        "rounds": {"first": s11["round"], "second": second},
        "case_return": case_return,
    }


#: who reads each return's scrutiny (its page, a criterion, its threads): everyone else gets 404
READS = {
    "police": {"admin", "qa_member", "scrutineer", "police_lead", "police_auditor", "moderator"},
    "health": {"admin", "qa_member", "scrutineer", "health_lead", "moderator"},
    "second": {"admin", "qa_member", "scrutineer", "police_lead", "police_auditor"},
}
#: who opens threads on it and closes them (the QA side); a moderator never on their own agency's return
QA_SIDE = {
    "police": {"admin", "qa_member", "moderator"},
    "health": {"admin", "qa_member"},
    "second": {"admin", "qa_member"},
}
#: who replies in its threads: the QA side and the agency
REPLIES = {
    "police": {"admin", "qa_member", "moderator", "police_lead", "police_auditor"},
    "health": {"admin", "qa_member", "health_lead", "moderator"},
    "second": {"admin", "qa_member", "police_lead", "police_auditor"},
}
#: who sees each round's follow-up list (403: sees no round's; 404: not this one)
ROUND_READS = {
    "first": {"admin", "qa_member", "scrutineer", "moderator"},
    "second": {"admin", "qa_member", "scrutineer"},
}
PEOPLE = [
    "admin",
    "qa_member",
    "scrutineer",
    "police_lead",
    "police_auditor",
    "health_lead",
    "moderator",
    "other_partnership",
]


@pytest.mark.parametrize("person", PEOPLE)
def test_who_sees_and_writes_which_return_s_scrutiny(client, world, access, person):
    user = access["people"][person]
    login(client, user)
    for name, (ret, key) in access["returns"].items():
        page = client.get(f"/scrutiny/returns/{ret.id}")
        criterion = client.get(f"/scrutiny/returns/{ret.id}/criteria/{key}")
        thread = access["threads"][name]
        reads = person in READS[name]
        assert page.status_code == (200 if reads else 404), (person, name, page.status_code)
        assert criterion.status_code == (200 if reads else 404), (person, name)
        if reads:
            body = criterion.get_data(as_text=True)
            assert (f"/scrutiny/threads/{thread.id}/close" in body) == (person in QA_SIDE[name]), (person, name)
        # writing: the QA side opens a thread, anyone else who reads is refused (403), others never find it (404)
        opened = client.post(
            f"/scrutiny/returns/{ret.id}/criteria/{key}/threads", data={"kind": "comment", "body": "Hi"}
        )
        expected = 302 if person in QA_SIDE[name] else 403 if reads else 404
        assert opened.status_code == expected, (person, name, opened.status_code)
        replied = client.post(f"/scrutiny/threads/{thread.id}/messages", data={"body": "A reply"})
        expected = 302 if person in REPLIES[name] else 403 if reads else 404
        assert replied.status_code == expected, (person, name, replied.status_code)
        # the API answers the same
        secret_headers = {"Authorization": f"Bearer {_token(user)}"}
        listed = client.get(f"/api/v1/returns/{ret.id}/threads", headers=secret_headers)
        assert listed.status_code == (200 if reads else 404), (person, name)
        if reads:
            assert {t["id"] for t in listed.json["items"]} >= {thread.id}
    for name, round_ in access["rounds"].items():
        for url in (f"/scrutiny/rounds/{round_.id}/follow-up", f"/scrutiny/rounds/{round_.id}/returns"):
            page = client.get(url)
            if person in ROUND_READS[name]:
                assert page.status_code == 200, (person, url)
            elif person in ("police_lead", "police_auditor", "health_lead"):
                assert page.status_code == 403, (person, url)
            else:
                assert page.status_code == 404, (person, url, page.status_code)
        listed = client.get(f"/api/v1/rounds/{round_.id}/scrutiny", headers=secret_headers)
        if person in ROUND_READS[name]:
            shown = {r["return_id"] for r in listed.json["returns"]}
            expected = {ret.id for key, (ret, _) in access["returns"].items() if ret.round_id == round_.id}
            assert shown == expected, (person, name)
        else:
            assert listed.status_code in (403, 404), (person, name)


def _token(user) -> str:
    from tests.factories import api_token

    return api_token(user)


def test_a_case_audit_return_has_no_scrutiny(client, world, access):
    ret = access["case_return"]
    login(client, world.user("admin"))
    assert client.get(f"/scrutiny/returns/{ret.id}").status_code == 404
    question = ret.round.version.questions[0]
    assert client.get(f"/scrutiny/returns/{ret.id}/criteria/{question.key}").status_code == 404
    assert client.get(f"/scrutiny/rounds/{ret.round_id}/follow-up").status_code == 404
    assert (
        client.get(
            f"/api/v1/returns/{ret.id}/scrutiny", headers={"Authorization": f"Bearer {_token(world.user('admin'))}"}
        ).status_code
        == 404
    )
    # and its return page links to no scrutiny
    assert "/scrutiny/" not in client.get(f"/returns/{ret.id}").get_data(as_text=True)


# -- the pages --


def test_the_qa_member_queries_the_agency_answers_and_the_qa_member_moderates_on_the_pages(client, world, s11, mailbox):
    police, round_ = s11["police"], s11["round"]
    _submit(police, world.user("agency_lead"), **{NAMED_LEAD: "Fully met"})
    db.session.commit()
    url = f"/scrutiny/returns/{police.id}/criteria/{NAMED_LEAD}"

    login(client, world.user("qa_member"))
    refused = client.post(f"{url}/threads", data={"kind": "", "body": ""})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "govuk-error-summary" in page and "Enter a message" in page and "Select whether this is a comment" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScrutinyThread)) == 0
    sent = client.post(f"{url}/threads", data={"kind": "more_evidence", "body": "Send the job description."})
    assert sent.status_code == 302
    assert "Send the job description." in mailbox[-1].get_content()
    # the round page counts the open query against the police return
    round_page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert 'id="scrutiny-counts"' in round_page and f"/scrutiny/returns/{police.id}" in round_page
    assert "1 open thread waiting for the agency (1 return); 0 answered, waiting for the QA group." in round_page
    # a round can have a hundred settings: only returns with threads are listed there, every one on its own page
    assert f"/scrutiny/returns/{s11['health'].id}" not in round_page
    assert f"/scrutiny/returns/{s11['health'].id}" in client.get(f"/scrutiny/rounds/{round_.id}/returns").get_data(
        as_text=True
    )

    login(client, world.user("auditor"))
    # beside the criterion on the agency's own return pages
    section = client.get(f"/returns/{police.id}/sections/leadership").get_data(as_text=True)
    assert f'id="scrutiny-{NAMED_LEAD}"' in section and "1 open" in section
    assert f"/scrutiny/returns/{police.id}" in client.get(f"/returns/{police.id}").get_data(as_text=True)
    thread = db.session.scalar(sa.select(ScrutinyThread))
    blank = client.post(f"/scrutiny/threads/{thread.id}/messages", data={"body": "  "})
    assert blank.status_code == 400 and "Enter a message" in blank.get_data(as_text=True)
    assert (
        client.post(f"/scrutiny/threads/{thread.id}/messages", data={"body": "Attached to the return."}).status_code
        == 302
    )
    db.session.refresh(thread)
    assert thread.state == ThreadState.ANSWERED
    # the agency cannot close threads or moderate
    assert client.post(f"/scrutiny/threads/{thread.id}/close").status_code == 403
    assert client.post(f"{url}/moderation", data={"level_id": "1", "reason": "x"}).status_code == 403

    login(client, world.user("qa_member"))
    partly = _level(police, NAMED_LEAD, "Partly met")
    missing = client.post(f"{url}/moderation", data={"level_id": "", "reason": ""})
    assert missing.status_code == 400
    body = missing.get_data(as_text=True)
    assert "Select the moderated rating" in body and "Enter the reason for the moderated rating" in body
    saved = client.post(
        f"{url}/moderation", data={"level_id": str(partly.id), "reason": "The lead is not in post yet."}
    )
    assert saved.status_code == 302
    assert client.post(f"/scrutiny/threads/{thread.id}/close").status_code == 302

    login(client, world.user("agency_lead"))
    page = client.get(url).get_data(as_text=True)
    assert "Fully met" in page and "Partly met" in page and "The lead is not in post yet." in page
    section = client.get(f"/returns/{police.id}/sections/leadership").get_data(as_text=True)
    assert "Moderated rating: Partly met" in section and "The lead is not in post yet." in section
    assert "Moderate the rating" not in page  # the agency's view has no moderation form

    login(client, world.user("qa_member"))
    assert client.post(f"{url}/moderation", data={"action": "clear"}).status_code == 302
    answer = scrutiny.answer_of(police, NAMED_LEAD)
    db.session.refresh(answer)
    assert answer.moderated_level_id is None and answer.scale_level.label == "Fully met"


def test_moderators_and_priority_criteria_on_the_pages(client, world, s11):
    round_, police = s11["round"], s11["police"]
    login(client, world.user("admin"))
    page = client.get(f"/scrutiny/rounds/{round_.id}/moderators").get_data(as_text=True)
    assert "scrutineer@north.example.org" in page and "No moderators are named" in page
    refused = client.post(f"/scrutiny/rounds/{round_.id}/moderators", data={"user_id": "x"})
    assert refused.status_code == 400 and "govuk-error-summary" in refused.get_data(as_text=True)
    assert (
        client.post(
            f"/scrutiny/rounds/{round_.id}/moderators", data={"user_id": str(world.user("scrutineer").id)}
        ).status_code
        == 302
    )
    # the scrutineer moderates this round now: opens a query, and sees the round's follow-up list
    login(client, world.user("scrutineer"))
    assert client.post(f"/scrutiny/rounds/{round_.id}/moderators", data={"user_id": "1"}).status_code == 403
    assert (
        client.post(
            f"/scrutiny/returns/{police.id}/criteria/{NAMED_LEAD}/threads", data={"kind": "query", "body": "Why?"}
        ).status_code
        == 302
    )

    login(client, world.user("qa_member"))
    bad = client.post(f"/scrutiny/rounds/{round_.id}/priorities", data={"question_keys": ["nope"]})
    assert bad.status_code == 400 and "nope" in bad.get_data(as_text=True)
    assert (
        client.post(f"/scrutiny/rounds/{round_.id}/priorities", data={"question_keys": [NAMED_LEAD]}).status_code == 302
    )
    _submit(police, world.user("agency_lead"), **{NAMED_LEAD: "Not met"})
    db.session.commit()
    follow = client.get(f"/scrutiny/rounds/{round_.id}/follow-up").get_data(as_text=True)
    assert "North Police" in follow and "Not met" in follow
    assert f"/scrutiny/returns/{police.id}/criteria/{NAMED_LEAD}" in follow
    removed = client.post(
        f"/scrutiny/rounds/{round_.id}/moderators/remove", data={"user_id": str(world.user("scrutineer").id)}
    )
    assert removed.status_code == 303 and scrutiny.moderators(round_) == []


# -- a round shared by two partnerships --


def test_a_shared_return_s_scrutiny_is_seen_by_each_of_its_partnerships_and_no_other(client, world, mailbox, request):
    """North Police answers once for North and South: both QA sides see and query its return; South sees nothing
    of North's hospital, North nothing of South's council, East nothing at all; the police's answer reaches both
    partnerships' QA groups, the hospital's only North's."""
    shared = request.getfixturevalue("shared_round")
    round_ = _share_and_open(client, world, shared)
    police = _return_of(round_, world.police.agency_id)
    hospital = _return_of(round_, world.health.agency_id)
    council = _return_of(round_, world.other_agency.agency_id)
    with system_actor("test:setup"):
        south_qa = make_user(world.other_partnership.id, Role.QA_MEMBER, email="qa@south.example.org")
        police_thread = scrutiny.open_thread(police, NAMED_LEAD, "query", "Police?", by=world.user("qa_member"))
        hospital_thread = scrutiny.open_thread(hospital, NAMED_LEAD, "query", "Hospital?", by=world.user("qa_member"))
        db.session.commit()

    def status(user, partnership_id, url):
        login(client, user, partnership_id)
        return client.get(url).status_code

    south = world.other_partnership.id
    for ret, north_sees, south_sees in ((police, 200, 200), (hospital, 200, 404), (council, 404, 200)):
        url = f"/scrutiny/returns/{ret.id}"
        assert status(world.user("qa_member"), world.partnership.id, url) == north_sees, ret.agency.name
        assert status(south_qa, south, url) == south_sees, ret.agency.name
        assert status(shared["east_admin"], None, url) == 404, ret.agency.name
    # South's QA side queries the shared police return too, and never reaches North's hospital's thread
    login(client, south_qa, south)
    assert (
        client.post(f"/scrutiny/threads/{police_thread.id}/messages", data={"body": "South asks too"}).status_code
        == 302
    )
    assert client.post(f"/scrutiny/threads/{hospital_thread.id}/messages", data={"body": "x"}).status_code == 404
    follow = client.get(f"/scrutiny/rounds/{round_.id}/returns").get_data(as_text=True)
    assert f"/scrutiny/returns/{police.id}" in follow and f"/scrutiny/returns/{hospital.id}" not in follow

    with system_actor("test:setup"):
        scrutiny.add_message(police_thread, "Terms of reference", by=world.user("auditor"), side=MessageSide.AGENCY)
        db.session.commit()
    assert set(mailbox[-1]["To"].split(", ")) == {"qa@north.example.org", "qa@south.example.org"}
    with system_actor("test:setup"):
        scrutiny.add_message(hospital_thread, "Our policy", by=world.user("admin"), side=MessageSide.AGENCY)
        db.session.commit()
    assert mailbox[-1]["To"] == "qa@north.example.org"
