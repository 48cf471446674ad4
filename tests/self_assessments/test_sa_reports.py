"""The self-assessment report against a hand-built round whose answers are known: submitted, accepted, declined,
alternative-template, late and not-started returns; N/A and unanswered criteria; moderation differing from the
agency's own rating; a criterion for schools only; a previous round; a round shared with another partnership.
Through the page, the spreadsheet, the API and the board's PDF; and who may read it."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from audit_app.accounts import services as accounts
from audit_app.accounts.models import Agency, PartnershipAgency
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires.models import QuestionnaireKind, Scale, ScaleLevel
from audit_app.reporting import sa_files
from audit_app.reporting.self_assessments import build_report
from audit_app.rounds import carry, services
from audit_app.rounds.models import Answer, Question, Return, Round, RoundStatus
from tests.conftest import login, sector
from tests.factories import make_questionnaire, make_round

SPEC = {
    "format": 1,
    "key": "s11_report_test",
    "title": "Section 11 (report test)",
    "kind": "self_assessment",
    "sections": [
        {
            "key": "leadership",
            "title": "Standard 1: Leadership",
            "questions": [
                {"key": "lead_named", "text": "A named lead", "type": "scale", "scale": "fully_partly_not_met"},
                {"key": "lead_plan", "text": "A plan", "type": "scale", "scale": "fully_partly_not_met"},
                {
                    "key": "lead_governors",
                    "text": "Governors are trained",
                    "type": "scale",
                    "scale": "fully_partly_not_met",
                    "applies_to": ["education"],
                },
                {"key": "lead_evidence", "text": "Evidence", "type": "text", "role": "evidence"},
            ],
        },
        {
            "key": "training",
            "title": "Standard 2: Training",
            "questions": [
                {"key": "train_all", "text": "Staff are trained", "type": "scale", "scale": "fully_partly_not_met"}
            ],
        },
        {
            "key": "notes",
            "title": "Anything else",
            "questions": [{"key": "notes_text", "text": "Anything else", "type": "text"}],
        },
    ],
}


@dataclass
class Built:
    previous: Round
    current: Round
    agencies: dict[str, PartnershipAgency]


def _level(label: str) -> ScaleLevel:
    return db.session.scalar(
        sa.select(ScaleLevel)
        .join(Scale, Scale.id == ScaleLevel.scale_id)
        .where(Scale.key == "fully_partly_not_met", Scale.partnership_id.is_(None), ScaleLevel.label == label)
    )


def _return(round_: Round, link: PartnershipAgency) -> Return:
    return db.session.scalar(sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == link.agency_id))


def _answer(ret: Return, key: str) -> Answer:
    return db.session.scalar(sa.select(Answer).join(Question).where(Answer.return_id == ret.id, Question.key == key))


def _save(ret: Return, user, answers: dict[str, str], *, submit: bool = False) -> Return:
    with system_actor("test:setup"):
        services.save_answers(ret, answers, by=user, expected_version=ret.lock_version)
        if submit:
            services.submit_return(ret, by=user, as_lead=True, confirm_carried=True)
    return ret


def _moderate(ret: Return, key: str, label: str) -> None:
    """A moderator's rating beside the agency's own (the scrutiny part's service writes it; the report reads it)."""
    answer = _answer(ret, key)
    answer.moderated_level_id = _level(label).id
    answer.moderation_note = "Evidence does not show it"
    db.session.flush()


@pytest.fixture()
def built(world) -> Built:
    north = world.partnership.id
    lead = world.user("agency_lead")
    education = sector(north, "education")
    with system_actor("test:setup"):
        schools = {f"school{n}": accounts.create_agency(north, f"School {n}", education) for n in (1, 2, 3, 4)}
    agencies = {"police": world.police, "health": world.health, **schools}
    version = make_questionnaire(north, SPEC)

    # last year's round: police and school 1, both returned and one answer moderated
    previous = make_round(
        north,
        version=version,
        title="S11 last year",
        agencies=[world.police, schools["school1"]],
        status=RoundStatus.OPEN,
    )
    _save(_return(previous, world.police), lead, {"lead_named": "Not met", "train_all": "Partly met"}, submit=True)
    school1_then = _save(
        _return(previous, schools["school1"]),
        lead,
        {"lead_named": "Partly met", "lead_plan": "Fully met", "train_all": "Not applicable"},
        submit=True,
    )
    _moderate(school1_then, "lead_plan", "Partly met")
    services.move_round(previous, RoundStatus.CLOSED)

    # this year's: six agencies, started from last year's (answers carried forward, then changed)
    with system_actor("test:setup"):
        current = carry.plan_next_round(previous, title="S11 this year", opens_on=None, due_on=None)
        services.set_round_agencies(current, agency_ids=[link.agency_id for link in agencies.values()])
        services.move_round(current, RoundStatus.OPEN)
    police = _return(current, world.police)
    _save(police, lead, {"lead_named": "Partly met", "lead_plan": "", "train_all": "Not applicable"}, submit=True)
    _moderate(police, "lead_named", "Not met")
    school1 = _return(current, schools["school1"])
    _save(
        school1,
        lead,
        {"lead_named": "Fully met", "lead_plan": "Not met", "lead_governors": "Partly met", "train_all": "Fully met"},
        submit=True,
    )
    _moderate(school1, "lead_governors", "Fully met")
    _moderate(school1, "lead_plan", "Not met")  # the same level again: not a change
    with system_actor("test:setup"):
        services.accept_return(school1, by=world.user("qa_member"))
        # school 2 answered, then declined: its answers are never counted
        school2 = _return(current, schools["school2"])
        _save(school2, lead, {"lead_named": "Not met", "train_all": "Not met"})
        services.decline_return(school2, by=lead, reason="The head is new; we will return next year")
        services.record_alternative_template(
            _return(current, schools["school3"]), by=world.user("qa_member"), note="The county's own form"
        )
    # health has answered but not submitted: outstanding, not counted
    _save(_return(current, world.health), lead, {"lead_named": "Not met"})
    db.session.commit()
    return Built(previous, current, agencies)


def _rows(report, key: str) -> list[dict]:
    return report.tables[key].rows


def _by(rows: list[dict], *keys: str) -> dict:
    return {tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]: row for row in rows}


def _levels(cell) -> dict[str, int]:
    return {item.label: item.count for item in cell}


# -- the figures --


def test_heatmap_counts_returned_agencies_only_with_self_and_moderated_side_by_side(built, world):
    report = build_report(built.current, world.partnership.id)
    heat = _by(_rows(report, "sa_heatmap"), "agency", "standard_key")
    # declined, alternative, in progress and not started returns are not rows
    assert {agency for agency, _ in heat} == {"North Police", "School 1"}
    assert [key for key, _ in report.standards] == ["leadership", "training"]  # the text-only section is no standard

    police = heat[("North Police", "leadership")]
    assert police["criteria"] == 2  # the governors' criterion is for schools only
    assert _levels(police["self_levels"]) == {"Fully met": 0, "Partly met": 1, "Not met": 0}
    assert (police["self_rated"], police["unanswered"], police["not_applicable"]) == (1, 1, 0)
    assert _levels(police["moderated_levels"]) == {"Fully met": 0, "Partly met": 0, "Not met": 1}
    assert police["moderated_changed"] == 1 and police["self_below_good_pct"] == 100
    police_training = heat[("North Police", "training")]
    assert police_training["not_applicable"] == 1 and police_training["self_rated"] == 0
    assert police_training["self_below_good_pct"] is None  # nothing rated: no share, never 0%

    school = heat[("School 1", "leadership")]
    assert school["criteria"] == 3
    assert _levels(school["self_levels"]) == {"Fully met": 1, "Partly met": 1, "Not met": 1}
    assert _levels(school["moderated_levels"]) == {"Fully met": 2, "Partly met": 0, "Not met": 1}
    assert school["moderated_changed"] == 1  # lead_plan was moderated to its own level
    assert report.has_moderation

    # the agency's own rating is never overwritten: both are stored and reported
    answer = _answer(_return(built.current, built.agencies["school1"]), "lead_governors")
    assert answer.scale_level.label == "Partly met" and answer.moderated_level_id == _level("Fully met").id


def test_counts_below_good_by_standard_and_sector(built, world):
    report = build_report(built.current, world.partnership.id)
    rows = _by(_rows(report, "sa_below_good"), "standard_key", "sector")
    assert report.tables["sa_below_good"].title == "Counts of Partly met and Not met by standard and sector"
    education = rows[("leadership", "Education")]
    assert education["agencies"] == 1  # school 1 only: the declined and alternative schools are not counted
    assert _levels(education["self_levels"]) == {"Partly met": 1, "Not met": 1}
    assert _levels(education["moderated_levels"]) == {"Partly met": 0, "Not met": 1}
    every = rows[("leadership", "All sectors")]
    assert (every["agencies"], every["self_rated"], every["self_below_good"], every["moderated_below_good"]) == (
        2,
        4,
        3,
        2,
    )
    assert every["sector_key"] is None
    # a sector with no returned return still appears, with nothing rated
    health = rows[("leadership", "Health")]
    assert health["agencies"] == 0 and health["self_rated"] == 0 and health["self_below_good_pct"] is None


def test_change_since_the_last_round_matches_question_keys(built, world):
    report = build_report(built.current, world.partnership.id)
    change = _by(_rows(report, "sa_change"), "agency", "standard_key")
    # police lead_named: Not met then, Not met after moderation now: same
    assert {k: change[("North Police", "leadership")][k] for k in ("better", "same", "worse", "new")} == {
        "better": 0,
        "same": 1,
        "worse": 0,
        "new": 0,
    }
    # police train_all: Partly met then, N/A now
    assert change[("North Police", "training")]["not_rated_now"] == 1
    # school 1: lead_named Partly -> Fully (better); lead_plan moderated Partly -> Not met (worse); governors new
    school = change[("School 1", "leadership")]
    assert (school["better"], school["same"], school["worse"], school["new"]) == (1, 0, 1, 1)
    # train_all N/A then, Fully met now: new
    assert change[("School 1", "training")]["new"] == 1
    assert "sa_change" not in build_report(built.previous, world.partnership.id).tables


def test_returns_not_counted_and_return_rates(built, world):
    report = build_report(built.current, world.partnership.id)
    listed = {row["agency"]: row["status_key"] for row in _rows(report, "sa_not_counted")}
    assert listed == {
        "School 2": "declined",
        "School 3": "alternative_template",
        "North Hospital": "in_progress",
        "School 4": "not_started",
    }
    overall = report.overall_rate
    assert (overall.asked, overall.returned, overall.declined, overall.alternative, overall.outstanding) == (
        6,
        2,
        1,
        1,
        2,
    )
    education = _by(_rows(report, "sa_return_rates"), "sector")["Education"]
    assert (education["asked"], education["returned"], education["asked_less_declined"]) == (4, 1, 2)
    assert education["rate"] == 25 and education["rate_less_declined"] == 50


def test_small_counts_are_withheld(built, world):
    report = build_report(built.current, world.partnership.id).suppress()
    police = _by(_rows(report, "sa_heatmap"), "agency", "standard_key")[("North Police", "leadership")]
    assert police["criteria"] is None and "criteria" in police["suppressed"]
    assert police["self_below_good_pct"] is None and "self_below_good_pct" in police["suppressed"]
    levels = {item.label: item for item in police["self_levels"]}
    assert levels["Partly met"].suppressed and levels["Partly met"].count is None
    assert not levels["Fully met"].suppressed and levels["Fully met"].count == 0


# -- shared rounds --


def test_a_shared_round_shows_each_partnership_its_own_agencies(built, world):
    south = world.other_partnership
    current = built.current
    with system_actor("test:setup"):
        police_agency = db.session.get(Agency, world.police.agency_id)
        accounts.link_agency(south.id, police_agency, sector(south.id, "police"))
        services.share_round(current, south)
        services.set_round_agencies(
            current, agency_ids=[a.id for a in current.agencies] + [world.other_agency.agency_id]
        )
    south_return = _return(current, world.other_agency)
    _save(south_return, world.user("agency_lead"), {"lead_named": "Not met", "train_all": "Fully met"}, submit=True)
    db.session.commit()

    north_report = build_report(current, world.partnership.id)
    south_report = build_report(current, south.id)
    north_agencies = {row["agency"] for row in _rows(north_report, "sa_heatmap")}
    south_agencies = {row["agency"] for row in _rows(south_report, "sa_heatmap")}
    assert north_agencies == {"North Police", "School 1"}  # nothing of South's own agency
    assert south_agencies == {"North Police", "South Council"}  # the shared police return counts for South too
    south_police = _by(_rows(south_report, "sa_heatmap"), "agency", "standard_key")[("North Police", "leadership")]
    assert _levels(south_police["moderated_levels"])["Not met"] == 1
    assert {row["agency"] for row in _rows(south_report, "sa_not_counted")} == set()
    # return rates too: each partnership counts its own agencies' returns (police in both)
    assert (south_report.overall_rate.asked, south_report.overall_rate.returned) == (2, 2)
    assert (north_report.overall_rate.asked, north_report.overall_rate.returned) == (6, 2)
    # each partnership's sectors: South's names for its own agencies
    sectors = {row["agency"]: row["sector_key"] for row in _rows(south_report, "sa_heatmap")}
    assert sectors == {"North Police": "police", "South Council": "social_care"}


def test_a_shared_round_through_the_api(built, world, api):
    south = world.other_partnership
    with system_actor("test:setup"):
        police_agency = db.session.get(Agency, world.police.agency_id)
        accounts.link_agency(south.id, police_agency, sector(south.id, "police"))
        services.share_round(built.current, south)
        services.set_round_agencies(
            built.current, agency_ids=[a.id for a in built.current.agencies] + [world.other_agency.agency_id]
        )
    db.session.commit()
    url = f"/api/v1/rounds/{built.current.id}/self-assessment/report"
    south_view = api(world.user("other_admin")).get(url)
    assert south_view.status_code == 200, south_view.json
    rows = south_view.json["tables"]["sa_heatmap"]["rows"]
    assert {row["agency"] for row in rows} == {"North Police"}
    assert {row["agency"] for row in south_view.json["tables"]["sa_not_counted"]["rows"]} == {"South Council"}
    north_view = api(world.user("admin")).get(url).json
    assert "South Council" not in str(north_view)


# -- pages, files and API --


def test_the_report_page_shows_the_heatmap_and_offers_the_files(client, built, world):
    login(client, world.user("qa_member"))
    round_page = client.get(f"/rounds/{built.current.id}").get_data(as_text=True)
    assert f"/rounds/{built.current.id}/self-assessment/report" in round_page and "Self-assessment report" in round_page
    page = client.get(f"/rounds/{built.current.id}/self-assessment/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())  # what people read (and hear), not attributes
    for words in (
        "Heatmap: agencies by standard",
        "Standard 1: Leadership",
        "North Police",
        "School 1",
        "100% below good",
        "Self-rated",
        "Moderated",
        "Unanswered: 1",
        "Changed by moderation: 1",
        "Counts of Partly met and Not met by standard and sector",
        "Change since the last round",
        "Returns not counted in the figures",
        "Submitted on another template",
        "Return rates",
    ):
        assert words in text, words
    for never in (r"\bNone\b", r"\bnan\b", r"\bleadership\b", "lead_named", "sa_heatmap", "alternative_template"):
        assert not re.search(never, text), never
    # the counts below good, standards by sector: Standard 1 for education, as rated and after moderation
    below = html[html.index('id="below-good"') :]
    row = below[below.index("Standard 1: Leadership") : below.index("Standard 2: Training")]
    cells = [" ".join(re.sub(r"<[^>]+>", " ", "<td" + cell).split()) for cell in row.split("<td")[1:]]
    headings = re.findall(r'<th scope="col" class="govuk-table__header">([^<]+)</th>', below[: below.index("</thead>")])
    education = cells[headings.index("Education") - 1]
    assert education == ("Partly met: 1 Not met: 1 of 3 rated After moderation Partly met: 0 Not met: 1 of 3 rated"), (
        education
    )
    assert cells[headings.index("Health") - 1] == "No return counted"  # the hospital has not returned

    withheld = client.get(f"/rounds/{built.current.id}/self-assessment/report?suppress=1").get_data(as_text=True)
    assert "fewer than 5" in withheld
    assert client.get(f"/rounds/{built.current.id}/self-assessment/report?suppress=maybe").status_code == 400
    assert client.get(f"/rounds/{built.current.id}/self-assessment/report?download=pdf").status_code == 400

    xlsx = client.get(f"/rounds/{built.current.id}/self-assessment/report?download=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == [
        "About",
        "Heatmap",
        "Below good by sector",
        "Returns not counted",
        "Return rates",
        "Change since last round",
    ]
    heat = list(book["Heatmap"].iter_rows(values_only=True))
    assert heat[0][:4] == ("Agency", "Sector", "Standard", "Criteria asked")
    police = next(row for row in heat if row[0] == "North Police" and row[2] == "Standard 1: Leadership")
    assert "Partly met: 1" in police[4] and police[3] == 2


def test_the_board_pdf_is_drawn_by_a_job_and_kept_until_the_figures_change(client, built, world):
    login(client, world.user("admin"))
    base = f"/rounds/{built.current.id}/self-assessment/report"
    assert "Not prepared" in client.get(f"{base}/pdf").get_data(as_text=True)
    # not ready yet: back to the page that prepares it
    assert client.get(f"{base}.pdf").status_code == 303
    assert client.post(f"{base}/pdf").status_code == 303  # the job runs after the request commits
    row = sa_files.sa_report_file(built.current.id, world.partnership.id, False)
    assert row is not None and row.status.value == "ready" and row.pages >= 1
    pdf = client.get(f"{base}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # a change to the figures: the kept file is no longer offered
    _moderate(_return(built.current, world.police), "lead_named", "Partly met")
    db.session.commit()
    assert "Not prepared" in client.get(f"{base}/pdf").get_data(as_text=True)


def test_the_api_gives_the_same_figures_with_stable_keys(api, built, world):
    qa = api(world.user("qa_member"))
    answer = qa.get(f"/api/v1/rounds/{built.current.id}/self-assessment/report")
    assert answer.status_code == 200
    body = answer.json
    assert [s["key"] for s in body["standards"]] == ["leadership", "training"]
    levels = {level["label"]: level for level in body["levels"]}
    assert levels["Fully met"]["counts_as_good"] and levels["Not applicable"]["is_not_applicable"]
    heat = body["tables"]["sa_heatmap"]
    police = next(
        row
        for row in heat["rows"]
        if row["agency_id"] == world.police.agency_id and row["standard_key"] == "leadership"
    )
    assert police["sector_key"] == "police" and police["criteria"] == 2
    assert {item["label"]: item["count"] for item in police["moderated_levels"]}["Not met"] == 1
    assert {item["value"] for item in police["self_levels"]} == {3, 2, 1}
    page_report = build_report(built.current, world.partnership.id)
    assert heat == page_report.tables["sa_heatmap"].to_json()
    assert qa.get(f"/api/v1/rounds/{built.current.id}/self-assessment/report?suppress=2").status_code == 400
    withheld = qa.get(f"/api/v1/rounds/{built.current.id}/self-assessment/report?suppress=1").json
    assert withheld["suppressed"] is True
    xlsx = qa.get(f"/api/v1/rounds/{built.current.id}/self-assessment/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    status = qa.get(f"/api/v1/rounds/{built.current.id}/self-assessment/report/pdf").json
    assert status["state"] == "none" and status["download"] is None
    assert qa.get(f"/api/v1/rounds/{built.current.id}/self-assessment/report.pdf").status_code == 409
    prepared = qa.post(f"/api/v1/rounds/{built.current.id}/self-assessment/report/pdf")
    assert prepared.status_code == 202 and prepared.json["state"] == "ready"
    assert qa.get(prepared.json["download"]).data.startswith(b"%PDF")


# -- who may read it --

READERS = {"admin": 200, "qa_member": 200, "scrutineer": 200, "agency_lead": 403, "auditor": 403, "other_admin": 404}


@pytest.mark.parametrize(("person", "expected"), READERS.items())
def test_who_reads_the_report(client, api, built, world, person, expected):
    """Agency users have no report page (the heatmap compares agencies; they see their own ratings and
    moderation on their return); another partnership's people find no such round."""
    user = world.user(person)
    login(client, user)
    base = f"/rounds/{built.current.id}/self-assessment/report"
    for url in (base, f"{base}?download=xlsx", f"{base}/pdf"):
        assert client.get(url).status_code == expected, url
    assert api(user).get(f"/api/v1{base}").status_code == expected


def test_a_case_audit_round_has_no_self_assessment_report(client, api, world):
    case_round = make_round(world.partnership.id, kind=QuestionnaireKind.CASE_AUDIT, agencies=[world.police], cases=1)
    db.session.commit()
    login(client, world.user("admin"))
    assert client.get(f"/rounds/{case_round.id}/self-assessment/report").status_code == 404
    assert api(world.user("admin")).get(f"/api/v1/rounds/{case_round.id}/self-assessment/report").status_code == 404
    assert client.get("/rounds/999999/self-assessment/report").status_code == 404


def test_a_round_with_nothing_returned_yet_says_so(client, world):
    round_ = make_round(
        world.partnership.id, kind=QuestionnaireKind.SELF_ASSESSMENT, agencies=[world.police], status=RoundStatus.OPEN
    )
    db.session.commit()
    login(client, world.user("scrutineer"))
    html = client.get(f"/rounds/{round_.id}/self-assessment/report").get_data(as_text=True)
    assert "No return has been submitted yet." in html and "Not started" in html


def test_the_board_summary_holds_the_figures_of_the_page(app, built, world):
    report = build_report(built.current, world.partnership.id)
    with app.test_request_context():
        html = sa_files.summary_html(report)
        withheld = sa_files.summary_html(report.suppress())
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Self-assessment summary" in text and "Below good means Partly met or Not met" in text
    # the heatmap: police standard 1 is 100% below good as rated and after moderation
    police = html[html.index("<td>North Police</td>") :]
    assert re.sub(r"<[^>]+>", "", police[: police.index("</tr>")]).split()[2:5] == ["100%", "·", "100%"]
    assert "School 2" in text and "Declined" in text  # listed, not counted
    assert "Change since the last round" in text
    assert "fewer than 5" in withheld and not re.search(r"\bNone\b|\bnan\b", text)


def test_a_questionnaire_without_ratings_has_an_empty_report(client, world):
    spec = {
        "format": 1,
        "key": "s11_texts_only",
        "title": "Texts only",
        "kind": "self_assessment",
        "sections": [
            {"key": "about", "title": "About you", "questions": [{"key": "who", "text": "Who", "type": "text"}]}
        ],
    }
    round_ = make_round(
        world.partnership.id,
        version=make_questionnaire(world.partnership.id, spec),
        agencies=[world.police],
        status=RoundStatus.OPEN,
    )
    _save(_return(round_, world.police), world.user("agency_lead"), {"who": "The named lead"}, submit=True)
    db.session.commit()
    report = build_report(round_, world.partnership.id)
    assert report.standards == [] and report.tables["sa_heatmap"].rows == []
    assert report.overall_rate.returned == 1
    login(client, world.user("admin"))
    page = client.get(f"/rounds/{round_.id}/self-assessment/report")
    assert page.status_code == 200 and "no questions rated on a scale" in page.get_data(as_text=True)
