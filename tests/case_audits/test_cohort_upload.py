"""Cohort files as people make them: the template, agencies by name or short code, Excel's encodings,
2021 Census ethnicity, and findings filtered by the case's sex, ethnicity and disability."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from openpyxl import load_workbook

from audit_app import create_app
from audit_app.accounts import services as accounts
from audit_app.case_audits import services as case_services
from audit_app.case_audits.cohort import (
    COLUMNS,
    ETHNICITIES,
    CohortError,
    ethnicity_key,
    parse_cohort,
)
from audit_app.case_audits.models import Case, RoundCase
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.reporting import findings as f
from audit_app.reporting.queries import Filters, round_filter_choices
from audit_app.rounds.models import RoundStatus
from tests.conftest import login
from tests.factories import make_round

NAMES = {"North Police", "St Mary's Hospital", "Children's Social Care"}


def _problems(data: bytes, name: str = "cohort.csv", codes: dict[str, str] | None = None) -> list[tuple]:
    with pytest.raises(CohortError) as refused:
        parse_cohort(data, name, agency_names=NAMES, agency_codes=codes)
    return [(p.line, p.column, p.message) for p in refused.value.problems]


# -- the parser --


def test_the_2021_census_has_19_categories_under_5_groups_plus_not_stated():
    assert len(ETHNICITIES) == 20 and "not_stated" in ETHNICITIES
    assert len({label.split(":")[0] for key, label in ETHNICITIES.items() if key != "not_stated"}) == 5


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("White: Irish", "white_irish"),
        ("irish", "white_irish"),
        ("white_irish", "white_irish"),
        ("White British", "white_british"),
        ("  BLACK   caribbean ", "black_caribbean"),
        ("Asian, Asian British or Asian Welsh: Pakistani", "asian_pakistani"),
        ("Mixed White and Black Caribbean", "mixed_white_black_caribbean"),
        ("Gypsy or Irish Traveller", "white_gypsy_traveller"),
        ("Prefer not to say", "not_stated"),
        ("Not known", ""),
        ("", ""),
        ("Martian", None),
    ],
)
def test_ethnicity_is_read_from_its_label_short_name_key_or_a_common_synonym(written, key):
    assert ethnicity_key(written) == key


def test_agencies_match_ignoring_case_curly_apostrophes_and_spaces_or_by_short_code():
    data = (
        "reference,ethnicity,agencies\n"
        "Child K,Irish,  north POLICE ; St Mary\u2019s hospital\n"
        "Child L,,children\u2019s  social care;smh\n"
    ).encode()
    rows = parse_cohort(data, "c.csv", agency_names=NAMES, agency_codes={"SMH": "St Mary's Hospital"})
    assert rows[0].agencies == ["North Police", "St Mary's Hospital"]
    assert rows[0].ethnicity == "white_irish"
    # a name and its own short code on one row count once
    assert rows[1].agencies == ["Children's Social Care", "St Mary's Hospital"]
    assert rows[1].ethnicity == ""


def test_every_bad_agency_and_ethnicity_is_listed_by_row_and_column():
    problems = _problems(b"reference,ethnicity,agencies\nChild K,Martian,Nobody\nChild L,Irish,XYZ;North Police\n")
    assert [(line, column) for line, column, _ in problems] == [(2, "ethnicity"), (2, "agencies"), (3, "agencies")]
    assert "no active agency called 'Nobody' (nor with that short code)" in problems[1][2]
    assert "2021 Census" in problems[0][2]


def test_a_windows_1252_csv_is_read():
    # Excel's "CSV (Comma delimited)" on Windows: a curly apostrophe is byte 0x92
    data = "reference,sex,agencies\r\nChild K,Female,St Mary\u2019s Hospital\r\n".encode("cp1252")
    assert b"\x92" in data
    [row] = parse_cohort(data, "c.csv", agency_names=NAMES)
    assert row.agencies == ["St Mary's Hospital"] and row.sex == "Female"


def test_a_utf16_tab_separated_file_is_read():
    # Excel's "Unicode Text": UTF-16 with a byte order mark, tab-separated
    data = "reference\tethnicity\tagencies\r\nChild K\tWhite: Roma\tNorth Police;St Mary\u2019s Hospital\r\n"
    [row] = parse_cohort(data.encode("utf-16"), "c.csv", agency_names=NAMES)
    assert row.ethnicity == "white_roma" and row.agencies == ["North Police", "St Mary's Hospital"]


def test_a_utf16_csv_with_commas_and_a_broken_one():
    data = "reference,agencies\nChild K,North Police\n".encode("utf-16")
    assert parse_cohort(data, "c.csv", agency_names=NAMES)[0].reference == "Child K"
    assert _problems(b"\xff\xfe" + b"\x00\xd8")[0][1] == "file"  # a lone surrogate: not UTF-16 after all


def test_utf8_with_a_byte_order_mark_still_reads():
    data = "reference,agencies\nChild K,St Mary\u2019s Hospital\n".encode("utf-8-sig")
    assert parse_cohort(data, "c.csv", agency_names=NAMES)[0].agencies == ["St Mary's Hospital"]


# -- short codes --


def test_a_short_code_is_stored_in_capitals_and_unique_in_the_partnership_ignoring_case(world):
    accounts.update_agency(world.police, world.police.agency.name, world.police.sector, short_code=" np ")
    assert world.police.short_code == "NP"
    with pytest.raises(Exception) as clash:
        accounts.update_agency(world.health, world.health.agency.name, world.health.sector, short_code="Np")
    assert clash.value.field == "short_code" and clash.value.status_code == 409
    with pytest.raises(Exception) as bad:
        accounts.set_short_code(world.health, "a code that is far too long")
    assert bad.value.field == "short_code"
    accounts.set_short_code(world.police, "")
    assert world.police.short_code is None


def test_short_codes_on_the_agency_pages(client, world):
    login(client, world.user("admin"))
    url = f"/admin/agencies/{world.health.agency_id}/edit"
    sector_id = str(world.health.sector_id)
    saved = client.post(url, data={"name": "North Hospital", "sector_id": sector_id, "short_code": "nh"})
    assert saved.status_code == 302
    assert "NH" in client.get(f"/admin/agencies/{world.health.agency_id}").data.decode()
    assert "NH" in client.get("/admin/agencies").data.decode()
    accounts.set_short_code(world.police, "NP")
    clash = client.post(url, data={"name": "North Hospital", "sector_id": sector_id, "short_code": "np"})
    assert clash.status_code in (400, 409)
    page = clash.data.decode()
    assert "another agency of the partnership already has this code" in page and "#short_code" in page


def test_short_codes_on_the_agency_api(api, world):
    admin = api(world.user("admin"))
    url = f"/api/v1/agencies/{world.health.agency_id}"
    assert admin.get(url).json["short_code"] is None
    changed = admin.patch(url, json={"short_code": "nh"})
    assert changed.status_code == 200 and changed.json["short_code"] == "NH"
    assert admin.patch(url, json={"name": "North Hospital"}).json["short_code"] == "NH"  # omitted: unchanged
    created = admin.post(
        "/api/v1/agencies", json={"name": "North School", "sector_id": world.health.sector_id, "short_code": "nh"}
    )
    assert created.status_code == 409 and "short_code" in created.json["error"]["fields"]
    assert admin.patch(url, json={"short_code": "!!"}).status_code == 400
    assert admin.patch(url, json={"short_code": ""}).json["short_code"] is None
    assert api(world.user("qa_member")).patch(url, json={"short_code": "X"}).status_code == 403


# -- the template and the page --


def _template(response) -> dict:
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(response.data))
    cases, values = workbook["Cases"], workbook["Values"]
    return {
        "header": [c.value for c in cases[1]],
        "values": [tuple(c.value or "" for c in row) for row in values.iter_rows(min_row=2)],
    }


def test_the_template_downloads_from_the_page_and_the_api_and_reads_back(client, api, world):
    accounts.set_short_code(world.police, "NP")
    round_ = make_round(world.partnership.id, title="Template round")
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}").data.decode()
    assert f"/rounds/{round_.id}/cohort-template.xlsx" in page
    from_page = _template(client.get(f"/rounds/{round_.id}/cohort-template.xlsx"))
    from_api = _template(api(world.user("qa_member")).get(f"/api/v1/rounds/{round_.id}/cohort-template"))
    assert from_page == from_api
    assert from_page["header"] == COLUMNS
    assert ("agencies", "North Police", "short code NP") in from_page["values"]
    assert ("ethnicity", "Irish", "White: Irish") in from_page["values"]
    assert all("None" not in row[2] for row in from_page["values"])  # ("None" is a plan type, never a meaning)
    assert client.get(f"/rounds/{round_.id}/cohort-template.xlsx").status_code == 200
    # filled in and uploaded as it is
    workbook = load_workbook(io.BytesIO(client.get(f"/rounds/{round_.id}/cohort-template.xlsx").data))
    workbook["Cases"].append(["Child K", "5-9", "Female", "Caribbean", "No", "Child in need", "np; North Hospital"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    uploaded = client.post(
        f"/rounds/{round_.id}/cohort",
        data={"file": (io.BytesIO(buffer.getvalue()), "cohort.xlsx")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.reference == "Child K"))
    assert case.ethnicity == "black_caribbean"
    rc = db.session.scalar(sa.select(RoundCase).where(RoundCase.case_id == case.id))
    assert sorted(a.name for a in rc.agencies) == ["North Hospital", "North Police"]


def test_the_error_summary_is_at_the_top_and_lists_every_row(client, world):
    round_ = make_round(world.partnership.id, title="Errors round")
    db.session.commit()  # the refused upload rolls back
    login(client, world.user("qa_member"))
    bad = b"reference,ethnicity,agencies\nChild K,Martian,North Police\nChild L,,Nobody\n"
    response = client.post(
        f"/rounds/{round_.id}/cohort",
        data={"file": (io.BytesIO(bad), "cohort.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.data.decode()
    summary = page.index("govuk-error-summary")
    assert summary < page.index("<h1")
    top = page[summary : page.index("<h1")]
    assert "row 2, ethnicity" in top and "row 3, agencies" in top and 'href="#cohort-problems"' in top
    assert db.session.scalar(sa.select(sa.func.count(RoundCase.id)).where(RoundCase.round_id == round_.id)) == 0


def test_the_case_form_offers_the_census_categories_and_refuses_others(client, world):
    round_ = make_round(world.partnership.id, title="Form round")
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}").data.decode()
    assert '<option value="white_roma">White: Roma</option>' in page
    url = f"/rounds/{round_.id}/cases"
    agencies = [str(world.police.agency_id)]
    refused = client.post(url, data={"reference": "CS-9", "ethnicity": "Martian", "agency_ids": agencies})
    assert refused.status_code == 400 and 'href="#ethnicity"' in refused.data.decode()
    ok = client.post(url, data={"reference": "CS-9", "ethnicity": "white_roma", "agency_ids": agencies})
    assert ok.status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.reference == "CS-9"))
    history = client.get(f"/cases/{case.id}")
    assert history.status_code == 200 and "White: Roma" in history.data.decode()


def test_the_case_api_takes_an_ethnicity_key_and_gives_its_label(api, world):
    round_ = make_round(world.partnership.id, title="API round")
    qa = api(world.user("qa_member"))
    url = f"/api/v1/rounds/{round_.id}/cases"
    body = {"reference": "CS-7", "agency_ids": [world.police.agency_id]}
    refused = qa.post(url, json=body | {"ethnicity": "White Irish"})
    assert refused.status_code == 400 and "ethnicity" in refused.json["error"]["fields"]
    added = qa.post(url, json=body | {"ethnicity": "white_irish"})
    assert added.status_code == 201, added.json
    [case] = [c for c in added.json["cases"] if c["reference"] == "CS-7"]
    assert case["ethnicity"] == "white_irish" and case["ethnicity_label"] == "White: Irish"
    schema = qa.get("/api/v1/openapi.json").json["components"]["schemas"]["CaseIn"]["properties"]["ethnicity"]
    assert set(schema["enum"]) == {"", *ETHNICITIES}


# -- findings by sex, ethnicity and disability --


def _round_with_people(world):
    round_ = make_round(world.partnership.id, title="People round")
    with system_actor("test:setup"):
        for reference, sex, ethnicity, disability in (
            ("CS-1", "Female", "white_irish", "Yes"),
            ("CS-2", "Male", "black_african", "No"),
            ("CS-3", "Female", "black_african", "No"),
        ):
            case_services.add_case(
                round_,
                agency_ids=[world.police.agency_id],
                reference=reference,
                sex=sex,
                ethnicity=ethnicity,
                disability=disability,
            )
        from audit_app.rounds import services as rounds

        rounds.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    return round_


def test_findings_filter_by_sex_ethnicity_and_disability(world):
    round_ = _round_with_people(world)
    choices = round_filter_choices(round_.id, None)
    assert choices["ethnicity"] == [
        ("black_african", "Black, Black British, Black Welsh, Caribbean or African: African"),
        ("white_irish", "White: Irish"),
    ]
    assert choices["sex"] == [("Female", "Female"), ("Male", "Male")]
    totals = lambda filters: f.round_findings(round_, filters=filters).extra["totals"]["cases"]  # noqa: E731
    assert totals(Filters()) == 3
    assert totals(Filters(ethnicity="black_african")) == 2
    assert totals(Filters(sex="Female", ethnicity="black_african")) == 1
    assert totals(Filters(disability="Yes")) == 1


def test_findings_filters_on_the_page_and_the_api(client, api, world):
    round_ = _round_with_people(world)
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}/findings?ethnicity=white_irish&disability=Yes")
    assert page.status_code == 200
    text = page.data.decode()
    assert '<option value="white_irish" selected>White: Irish</option>' in text
    bad = client.get(f"/rounds/{round_.id}/findings?ethnicity=martian&sex=Robot")
    assert bad.status_code == 400
    assert "Ethnicity: choose one of the values listed" in bad.data.decode()
    assert "Sex: choose one of the values listed" in bad.data.decode()
    qa = api(world.user("qa_member"))
    answered = qa.get(f"/api/v1/rounds/{round_.id}/findings?ethnicity=black_african")
    assert answered.status_code == 200 and answered.json["filters"] == {"ethnicity": "black_african"}
    refused = qa.get(f"/api/v1/rounds/{round_.id}/findings?ethnicity=martian")
    assert refused.status_code == 400 and "ethnicity" in refused.json["error"]["fields"]
    # the file's About sheet names the filter by its label, never its key
    download = client.get(f"/rounds/{round_.id}/findings?download=xlsx&ethnicity=white_irish")
    assert download.status_code == 200
    sheets = load_workbook(io.BytesIO(download.data))
    cells = [str(c.value) for sheet in sheets for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "White: Irish" in cells and "white_irish" not in cells


# -- the migration --


def test_the_migration_maps_free_text_ethnicity_and_keeps_the_original_in_the_audit_trail(tmp_path: Path):
    app = create_app("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrate.db'}", MAIL_SERVER=None)
    written = {
        1: ("White British", "white_british"),
        2: ("Black Caribbean", "black_caribbean"),
        3: ("Asian British Pakistani", "asian_pakistani"),
        4: ("Not known", ""),
        5: ("Half Klingon", ""),  # not recognised: not recorded, the text kept in the audit event
        6: ("", ""),
    }
    with app.app_context():
        upgrade(revision="6f39a1781d34")
        with db.engine.begin() as conn:
            now = "2026-01-01 00:00:00"
            conn.execute(
                sa.text(
                    "INSERT INTO partnerships (id, name, qa_group_name, created_at, updated_at) "
                    "VALUES (1, 'P', 'QA', :now, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO cases (id, partnership_id, reference, age_band, sex, ethnicity, disability, "
                    "plan_type, created_at, updated_at) VALUES (:id, 1, :ref, '', '', :eth, '', '', :now, :now)"
                ),
                [{"id": i, "ref": f"CS-{i}", "eth": old, "now": now} for i, (old, _new) in written.items()],
            )
        upgrade(revision="90e42322cc2f")
        with db.engine.connect() as conn:
            got = dict(conn.execute(sa.text("SELECT id, ethnicity FROM cases")).all())
            events = conn.execute(
                sa.text("SELECT entity_id, before, after, actor_label FROM audit_events WHERE entity_type = 'Case'")
            ).all()
        assert got == {i: new for i, (_old, new) in written.items()}
        kept = {row[0]: (json.loads(row[1])["ethnicity"], json.loads(row[2])["ethnicity"]) for row in events}
        assert kept == {i: pair for i, pair in written.items() if pair[0]}
        assert all("migration" in row[3] for row in events)
        downgrade(revision="6f39a1781d34")
        with db.engine.connect() as conn:
            back = dict(conn.execute(sa.text("SELECT id, ethnicity FROM cases")).all())
        assert back[1] == "English, Welsh, Scottish, Northern Irish or British" and back[5] == ""
