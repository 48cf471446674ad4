"""Learning themes across every source, with a real database: a review's learning point, a case-audit
finding (the panel's judgement), case-audit returns, a self-assessment challenge event and a recommendation,
all tagged with the same theme, counted on the page, in the file and through the API, each linked."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from audit_app.case_audits import services as case_services
from audit_app.case_audits.models import CaseJudgement
from audit_app.core.audit import AuditEvent, system_actor
from audit_app.extensions import db
from audit_app.questionnaires.models import LearningTheme, QuestionnaireKind, QuestionRole
from audit_app.reporting import theme_aggregation as agg
from audit_app.reporting import theme_queries as tq
from audit_app.reporting import theme_views as tv
from audit_app.reviews.models import LearningPoint, LearningReview, ReviewType
from audit_app.rounds import services as rounds
from audit_app.rounds.models import Return, RoundStatus
from audit_app.self_assessments import challenges
from audit_app.self_assessments.models import ChallengeEvent
from tests.conftest import login
from tests.factories import make_partnership, make_questionnaire, make_recommendation, make_round, valid_answers

TODAY = date(2026, 11, 30)
INFO, VOICE = "Information sharing", "Voice of the child"
LP, CF, CR, CE, RE = (s.value for s in agg.SOURCES)


@pytest.fixture()
def tagged(world, clock):
    clock.set(TODAY)
    pid = world.partnership.id
    with system_actor("test:setup"):
        # a new partnership starts with the default list: keep three of its themes (retiring one), drop the rest
        by_name = {
            t.name: t for t in db.session.scalars(sa.select(LearningTheme).where(LearningTheme.partnership_id == pid))
        }
        info, voice, retired = by_name.pop(INFO), by_name.pop(VOICE), by_name.pop("Drift and delay")
        for other in by_name.values():
            db.session.delete(other)
        info.position, voice.position, retired.position, retired.is_retired = 1, 2, 3, True
        review = LearningReview(
            partnership_id=pid, review_type=ReviewType.RAPID_REVIEW, pseudonym="Child K", aware_on=date(2025, 3, 3)
        )
        db.session.add(review)
        db.session.flush()
        point = LearningPoint(review=review, number=1, text="Schools were not told of the strategy meeting.")
        point.themes = [info, retired]
        db.session.add(point)
        db.session.commit()

    # a case audit: police ticks information sharing in lower case; the hospital ticks voice of the child
    version = make_questionnaire(pid, library_key="neglect_case_audit")
    themed_question = next(q for q in version.questions if q.role == QuestionRole.LEARNING_THEMES)
    round_ = make_round(
        pid,
        version=version,
        title="Neglect audit",
        agencies=[world.police, world.health],
        cases=1,
        status=RoundStatus.OPEN,
    )
    lead = world.user("agency_lead")
    with system_actor("test:setup"):
        for ret in db.session.scalars(sa.select(Return).where(Return.round_id == round_.id)):
            answers = valid_answers(ret)
            answers[themed_question.key] = [INFO] if ret.agency_id == world.police.agency_id else [VOICE]
            rounds.save_answers(ret, answers, by=lead, expected_version=ret.lock_version)
            rounds.submit_return(ret, by=lead, as_lead=True)
        rounds.move_round(round_, RoundStatus.CLOSED)
        rounds.move_round(round_, RoundStatus.IN_DISCUSSION)
        judgement = case_services.record_judgement(
            round_.cases[0], section_key="", grade="Good", learning_theme_ids=(info.id,)
        )
        db.session.commit()

    s11 = make_round(
        pid,
        kind=QuestionnaireKind.SELF_ASSESSMENT,
        title="Section 11, 2026",
        agencies=[world.police],
        status=RoundStatus.OPEN,
    )
    with system_actor("test:setup"):
        event = challenges.record_challenge(
            s11,
            pid,
            challenges.ChallengeIn(
                agency_id=world.police.agency_id,
                held_on=date(2026, 11, 20),
                attendees="Jo Reid, North Police",
                questions="How are schools told?",
                agreed="Tell schools of every strategy meeting.",
                learning_theme_ids=[info.id],
            ),
            by=world.user("qa_member").id,
        )
        db.session.commit()
    rec = make_recommendation(pid, "Tell schools of strategy meetings.", themes=[INFO])
    db.session.commit()
    police_return = db.session.scalar(
        sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == world.police.agency_id)
    )
    return {
        "info": info,
        "voice": voice,
        "retired": retired,
        "review": review,
        "point": point,
        "round": round_,
        "judgement": judgement,
        "event": event,
        "rec": rec,
        "police_return": police_return,
    }


def test_each_source_gives_its_tagged_items(world, tagged):
    pid = world.partnership.id
    themes = tq.themes(pid)
    assert themes["name"].tolist() == [INFO, VOICE, "Drift and delay"]
    items = tq.tagged_items(pid, themes)
    info_id = tagged["info"].id
    mine = items[items["theme_id"] == info_id]
    assert sorted(mine["source"].tolist()) == sorted([LP, CF, CR, CE, RE])
    by_source = {r["source"]: r for r in mine.to_dict("records")}
    assert by_source[LP]["item_id"] == tagged["point"].id and by_source[LP]["parent_id"] == tagged["review"].id
    assert by_source[LP]["label"] == "Rapid review: Child K, learning point 1"
    assert by_source[CF]["item_id"] == tagged["judgement"].id
    assert by_source[CR]["item_id"] == tagged["police_return"].id
    assert by_source[CE]["item_id"] == tagged["event"].id
    assert by_source[RE]["item_id"] == tagged["rec"].id
    # the hospital's return ticked voice of the child; the retired theme keeps its learning point
    assert items[items["theme_id"] == tagged["voice"].id]["source"].tolist() == [CR]
    assert items[items["theme_id"] == tagged["retired"].id]["source"].tolist() == [LP]


def test_another_partnership_sees_none_of_it(world, tagged):
    other = make_partnership()
    # it has its own default list, with none of North's items under any theme
    assert set(tq.themes(other.id)["theme_id"]).isdisjoint(tq.themes(world.partnership.id)["theme_id"])
    assert tq.tagged_items(other.id, tq.themes(world.partnership.id)).empty


def test_counts_per_theme_year_and_source(world, tagged):
    found = tv.across_sources(world.partnership.id, None, None)
    assert found.years == [2025, 2026]
    info = tagged["info"].id
    assert found.table.loc[(info, 2025, LP), "count"] == 1
    for source in (CF, CR, CE, RE):
        assert found.table.loc[(info, 2026, source), "count"] == 1, source
    assert found.totals.loc[info, "total"] == 5
    assert found.totals.loc[tagged["voice"].id, "total"] == 1
    only_2026 = tv.across_sources(world.partnership.id, 2026, 2026)
    assert only_2026.years == [2026] and only_2026.totals.loc[info, "total"] == 4


def test_the_page_shows_the_counts_a_chart_and_links_to_each_theme(client, world, tagged):
    login(client, world.user("qa_member"))
    response = client.get("/learning-themes/across-sources")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<svg" in page and "Items tagged with each learning theme, by source" in page
    assert f"/learning-themes/{tagged['info'].id}/items" in page
    assert "Drift and delay (retired)" in page
    assert "Review learning points" in page and "Self-assessment findings" in page
    for bad in ("None", "nan"):
        assert f">{bad}<" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from_year=20x5", "From year: enter a year"),
        ("from_year=2026&to_year=2024", "To year: must be the same as or after the from year"),
        ("from_year=2000&to_year=2099", "years or fewer at once"),
        ("to_year=1999", "To year: enter a year"),
    ],
)
def test_a_bad_year_range_is_refused_with_a_message(client, world, tagged, query, message):
    login(client, world.user("admin"))
    response = client.get(f"/learning-themes/across-sources?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert client.get(f"/learning-themes/across-sources?{query}&download=xlsx").status_code == 400
    assert client.get(f"/learning-themes/{tagged['info'].id}/items?{query}").status_code == 400


def test_the_items_page_links_every_item_of_the_theme(client, world, tagged):
    login(client, world.user("scrutineer"))
    response = client.get(f"/learning-themes/{tagged['info'].id}/items")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    round_ = tagged["round"]
    for link in (
        f"/reviews/{tagged['review'].id}",
        f"/returns/{tagged['police_return'].id}",
        f"/rounds/{round_.id}/cases/{round_.cases[0].id}/discussion",
        f"/challenge-events/{tagged['event'].id}",
        f"/recommendations/{tagged['rec'].id}",
    ):
        assert f'href="{link}"' in page, link
    assert "5 items, 2025 to 2026" in page
    later = client.get(f"/learning-themes/{tagged['info'].id}/items?from_year=2026").get_data(as_text=True)
    assert f"/reviews/{tagged['review'].id}" not in later and "4 items" in later


def test_each_item_link_opens_for_the_qa_group(app, client, world, tagged):
    login(client, world.user("qa_member"))
    with app.test_request_context():
        rows = tv.item_rows(tv.across_sources(world.partnership.id, None, None, tagged["info"].id))
    assert len(rows) == 5
    for row in rows:
        assert client.get(row["link_path"]).status_code == 200, row


def test_a_theme_of_another_partnership_is_not_found(client, world, tagged):
    other = make_partnership()
    with system_actor("test:setup"):
        theirs = db.session.scalar(
            sa.select(LearningTheme).where(LearningTheme.partnership_id == other.id, LearningTheme.name == INFO)
        )
    login(client, world.user("admin"))
    assert client.get(f"/learning-themes/{theirs.id}/items").status_code == 404


def test_agency_staff_are_refused(client, world, tagged):
    for role in ("agency_lead", "auditor"):
        login(client, world.user(role))
        assert client.get("/learning-themes/across-sources").status_code == 403


def test_the_counts_download_as_xlsx(client, world, tagged):
    login(client, world.user("qa_member"))
    response = client.get("/learning-themes/across-sources?download=xlsx&from_year=2025&to_year=2026")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["About", "By theme and year", "Totals"]
    rows = list(book["By theme and year"].values)
    assert rows[0] == ("Learning theme", "Year", *[s.label for s in agg.SOURCES], "Total")
    assert (INFO, 2026, 0, 1, 1, 1, 1, 4) in rows and (INFO, 2025, 1, 0, 0, 0, 0, 1) in rows
    assert ("Drift and delay (retired)", 2025, 1, 0, 0, 0, 0, 1) in rows
    totals = list(book["Totals"].values)
    assert (INFO, 1, 1, 1, 1, 1, 5) in totals


def test_the_api_gives_counts_and_items_with_keys_and_labels(api, world, tagged):
    client = api(world.user("qa_member"))
    counts = client.get("/api/v1/learning-themes/counts").json
    assert counts["years"] == [2025, 2026]
    assert [s["source"] for s in counts["sources"]] == [LP, CF, CR, CE, RE]
    info = tagged["info"].id
    mine = [c for c in counts["counts"] if c["learning_theme_id"] == info and c["count"]]
    assert {(c["year"], c["source"]) for c in mine} == {(2025, LP), (2026, CF), (2026, CR), (2026, CE), (2026, RE)}
    assert mine[0]["learning_theme_name"] == INFO and mine[0]["source_label"]
    assert len(counts["counts"]) == 3 * 2 * len(agg.SOURCES)
    items = client.get(f"/api/v1/learning-themes/{info}/items?from_year=2026").json
    assert items["learning_theme_name"] == INFO and items["years"] == [2026]
    assert {(i["source"], i["item_id"]) for i in items["items"]} == {
        (CF, tagged["judgement"].id),
        (CR, tagged["police_return"].id),
        (CE, tagged["event"].id),
        (RE, tagged["rec"].id),
    }
    assert all(i["link_path"].startswith("/") for i in items["items"])
    refused = client.get("/api/v1/learning-themes/counts?from_year=2026&to_year=2020")
    assert refused.status_code == 400 and "query.to_year" in refused.json["error"]["fields"]
    assert api(world.user("auditor")).get("/api/v1/learning-themes/counts").status_code == 403


# -- tagging: the panel's judgement and challenge events --


def test_the_panel_tags_a_finding_on_the_discussion_page_with_active_themes_only(client, world, tagged):
    round_, rc = tagged["round"], tagged["round"].cases[0]
    url = f"/rounds/{round_.id}/cases/{rc.id}/discussion"
    login(client, world.user("qa_member"))
    page = client.get(url).get_data(as_text=True)
    assert 'name="case-learning_theme_ids"' in page and VOICE in page
    assert "Drift and delay" not in page  # retired, and not on this finding: not offered
    form = {"csrf_token": "", "case-grade": "Good", "case-learning_theme_ids": [str(tagged["voice"].id)]}
    done = client.post(url, data=form)
    assert done.status_code in (302, 303), done.get_data(as_text=True)[:2000]
    judgement = db.session.get(CaseJudgement, tagged["judgement"].id)
    db.session.refresh(judgement)
    assert [t.name for t in judgement.themes] == [VOICE]
    refused = client.post(url, data={**form, "case-learning_theme_ids": [str(tagged["retired"].id)]})
    assert refused.status_code == 400
    assert "retired themes cannot be added" in refused.get_data(as_text=True)
    login(client, world.user("scrutineer"))  # reads the judgement, its themes beside it
    read = client.get(url).get_data(as_text=True)
    assert "<strong>Learning themes:</strong> Voice of the child" in read
    assert 'name="case-learning_theme_ids"' not in read


def test_the_judgement_api_reads_and_writes_the_themes(api, world, tagged):
    round_, rc = tagged["round"], tagged["round"].cases[0]
    client = api(world.user("qa_member"))
    url = f"/api/v1/rounds/{round_.id}/cases/{rc.id}/judgements"
    assert client.get(url).json["case"]["learning_themes"] == [{"id": tagged["info"].id, "name": INFO}]
    kept = client.put(url, json={"case": {"grade": "Good"}})
    assert kept.status_code == 200 and kept.json["case"]["learning_themes"][0]["name"] == INFO
    changed = client.put(url, json={"case": {"grade": "Good", "learning_theme_ids": [tagged["voice"].id]}})
    assert [t["name"] for t in changed.json["case"]["learning_themes"]] == [VOICE]
    event = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "CaseJudgement", AuditEvent.entity_id == tagged["judgement"].id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    assert event.after == {"learning_themes": [VOICE]} and event.actor_id == world.user("qa_member").id
    refused = client.put(url, json={"case": {"learning_theme_ids": [tagged["retired"].id]}})
    assert refused.status_code == 400 and "case.learning_theme_ids" in refused.json["error"]["fields"]


def test_a_challenge_event_keeps_a_retired_theme_it_has_but_cannot_gain_one(client, api, world, tagged):
    event = tagged["event"]
    with system_actor("test:setup"):
        event.themes = [tagged["info"], tagged["retired"]]
        db.session.commit()
    login(client, world.user("qa_member"))
    page = client.get(f"/challenge-events/{event.id}/edit").get_data(as_text=True)
    assert "Drift and delay (retired)" in page and 'name="learning_theme_ids"' in page
    form = {
        "held_on-day": "20",
        "held_on-month": "11",
        "held_on-year": "2026",
        "attendees": "Jo Reid",
        "questions": "How?",
        "agreed": "This.",
        "learning_theme_ids": [str(tagged["retired"].id), str(tagged["voice"].id)],
    }
    assert client.post(f"/challenge-events/{event.id}/edit", data=form).status_code == 303
    db.session.refresh(event)
    assert {t.name for t in event.themes} == {VOICE, "Drift and delay"}
    bad = client.post(f"/challenge-events/{event.id}/edit", data={**form, "learning_theme_ids": ["x1"]})
    assert bad.status_code == 400 and "Choose learning themes from the list" in bad.get_data(as_text=True)
    # through the API: a new event cannot take the retired theme
    s11_round_id = event.round_id
    refused = api(world.user("qa_member")).post(
        f"/api/v1/rounds/{s11_round_id}/challenge-events",
        json={
            "agency_id": world.police.agency_id,
            "held_on": "2026-11-21",
            "attendees": "A",
            "questions": "Q",
            "learning_theme_ids": [tagged["retired"].id],
        },
    )
    assert refused.status_code == 400 and "learning_theme_ids" in refused.json["error"]["fields"]
    patched = api(world.user("qa_member")).patch(
        f"/api/v1/challenge-events/{event.id}", json={"learning_theme_ids": [tagged["info"].id]}
    )
    assert patched.status_code == 200 and patched.json["learning_themes"] == [{"id": tagged["info"].id, "name": INFO}]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChallengeEvent)) == 1
