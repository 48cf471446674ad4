"""Settings added or updated in bulk from a CSV (accounts.settings_import), and the reference number on agencies:
the preview, applying it in one transaction, every bad row at once, re-uploading changing nothing, the round's
checkbox, the template and export (no formulas), and the API."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from audit_app.accounts import services, settings_import
from audit_app.accounts.models import PartnershipAgency
from audit_app.core.audit import system_actor
from audit_app.core.errors import ConflictError, DomainError, FieldErrors
from audit_app.extensions import db
from audit_app.questionnaires.models import QuestionnaireKind
from tests.conftest import login, sector
from tests.factories import make_round

GOOD = (
    "Name,Reference number,Sector,Contact email\r\n"
    "Hill Primary School,100001,Education,dsl@hill.sch.uk\r\n"
    "Little Acorns Nursery,ey 123456,education,\r\n"
    "North Police,PF-01,Police,\r\n"
)


def _links(partnership_id: int) -> dict[str, PartnershipAgency]:
    links = db.session.scalars(sa.select(PartnershipAgency).where(PartnershipAgency.partnership_id == partnership_id))
    return {link.agency.name: link for link in links}


def _apply(world, text: str):
    with system_actor("test"):
        result = settings_import.apply_import(world.partnership.id, text)
        db.session.commit()
    return result


# -- the plan and applying it --


def test_rows_are_added_matched_by_name_and_the_same_file_again_changes_nothing(world):
    sector(world.partnership.id, "education")
    plan = settings_import.plan_import(world.partnership.id, GOOD)
    assert plan.problems == []
    assert plan.counts == {"add": 2, "update": 1, "unchanged": 0}
    (police,) = plan.of("update")
    assert police.link.id == world.police.id and police.changes == ["reference number set"]
    _apply(world, GOOD)
    links = _links(world.partnership.id)
    assert links["Little Acorns Nursery"].reference_number == "EY123456"
    assert links["Hill Primary School"].contact_email == "dsl@hill.sch.uk"
    assert links["North Police"].reference_number == "PF-01"
    again = settings_import.plan_import(world.partnership.id, GOOD)
    assert again.counts == {"add": 0, "update": 0, "unchanged": 3}


def test_a_row_is_matched_on_its_reference_number_first_so_a_setting_can_be_renamed(world):
    sector(world.partnership.id, "education")
    _apply(world, GOOD)
    renamed = GOOD.replace("Hill Primary School", "Hill Academy")
    plan = settings_import.plan_import(world.partnership.id, renamed)
    (row,) = plan.of("update")
    assert row.changes == ["name from Hill Primary School"]
    _apply(world, renamed)
    assert "Hill Academy" in _links(world.partnership.id)


def test_every_bad_row_and_field_is_named_at_once_and_nothing_is_saved(world):
    sector(world.partnership.id, "education")
    before = len(_links(world.partnership.id))
    text = (
        "name,reference_number,sector,contact_email\n"
        "Good School,100002,Education,\n"
        ",,,\n"  # blank rows are skipped
        ",100003,Education,\n"
        "Bad Ref School,10 0 0 0 # 4,Education,\n"
        "No Sector School,100005,Dentistry,not-an-email\n"
        "Twin School,100002,education,\n"
        "good school,100006,Education,\n"
        "No Number School,,Education,\n"
    )
    plan = settings_import.plan_import(world.partnership.id, text)
    found = {(p.row, p.column) for p in plan.problems}
    assert found == {
        (4, "name"),
        (5, "reference_number"),
        (6, "sector"),
        (6, "contact_email"),
        (7, "reference_number"),
        (8, "name"),
        (9, "reference_number"),
    }
    assert any(p.text == "Row 7: Reference number: the same number as row 2" for p in plan.problems)
    with pytest.raises(FieldErrors):
        settings_import.apply_import(world.partnership.id, text)
    db.session.rollback()
    assert len(_links(world.partnership.id)) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,sector\nA,Police\n", "missing: Reference number"),
        ("Name,Reference number,Sector\n", "it has no settings"),
        ("", "no header row"),
    ],
)
def test_a_file_without_its_columns_or_rows_is_refused(world, text, message):
    plan = settings_import.plan_import(world.partnership.id, text)
    assert any(message in p.text for p in plan.problems), [p.text for p in plan.problems]


def test_a_row_taking_another_agencys_name_or_number_is_refused(world):
    with system_actor("test"):
        services.update_agency(world.health, "North Hospital", world.health.sector, reference_number="RX1")
        db.session.commit()
    # matched on its number to the hospital, but named as the police force: two agencies, one row
    plan = settings_import.plan_import(world.partnership.id, "Name,Reference number,Sector\nNorth Police,RX1,Health\n")
    assert [(p.row, p.column) for p in plan.problems] == [(2, "name")]


def test_decoding_refuses_binary_and_reads_windows_text():
    with pytest.raises(FieldErrors):
        settings_import.decode(b"\x00\x01\x02")
    assert settings_import.decode("Caf\u00e9".encode("cp1252")) == "Caf\u00e9"
    assert settings_import.decode(b"\xef\xbb\xbfName") == "Name"


# -- the reference number on agencies --


def test_the_reference_number_is_unique_in_a_partnership_and_checked(world):
    with system_actor("test"):
        services.update_agency(world.police, "North Police", world.police.sector, reference_number=" pf 01 ")
        db.session.commit()
    assert world.police.reference_number == "PF01"
    with pytest.raises(ConflictError):
        services.update_agency(world.health, "North Hospital", world.health.sector, reference_number="PF01")
    with pytest.raises(DomainError):
        services.update_agency(world.health, "North Hospital", world.health.sector, reference_number="<script>")
    # another partnership may use the same number
    with system_actor("test"):
        services.update_agency(world.other_agency, "South Council", world.other_agency.sector, reference_number="PF01")


def test_the_agency_pages_show_and_change_the_reference_number(client, world):
    login(client, world.user("admin"))
    changed = client.post(
        f"/admin/agencies/{world.police.agency_id}/edit",
        data={
            "name": "North Police",
            "sector_id": world.police.sector_id,
            "reference_number": "pf-9",
            "contact_email": "",
        },
    )
    assert changed.status_code == 302
    page = client.get(f"/admin/agencies/{world.police.agency_id}").get_data(as_text=True)
    assert "PF-9" in page
    assert "PF-9" in client.get("/admin/agencies").get_data(as_text=True)
    taken = client.post(
        f"/admin/agencies/{world.health.agency_id}/edit",
        data={"name": "North Hospital", "sector_id": world.health.sector_id, "reference_number": "PF-9"},
    )
    assert taken.status_code == 400 and "already has this number" in taken.get_data(as_text=True)


# -- pages --


def _upload(client, text: str, **extra):
    return client.post(
        "/admin/agencies/import",
        data={"step": "preview", "file": (io.BytesIO(text.encode()), "settings.csv"), **extra},
        content_type="multipart/form-data",
    )


def test_an_admin_previews_then_applies_a_file_on_the_pages(client, world):
    sector(world.partnership.id, "education")
    login(client, world.user("admin"))
    assert "Download the CSV template" in client.get("/admin/agencies/import").get_data(as_text=True)
    preview = _upload(client, GOOD)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "add <strong>2</strong> settings, update <strong>1</strong>" in page
    assert len(_links(world.partnership.id)) == 2  # nothing saved yet
    applied = client.post("/admin/agencies/import", data={"step": "apply", "csv_text": GOOD})
    assert applied.status_code == 303
    assert {"Hill Primary School", "Little Acorns Nursery"} <= set(_links(world.partnership.id))
    again = _upload(client, GOOD).get_data(as_text=True)
    assert "add <strong>0</strong> settings, update <strong>0</strong> and leave <strong>3</strong> unchanged" in again


def test_bad_rows_on_the_page_are_listed_in_the_error_summary(client, world):
    login(client, world.user("admin"))
    refused = _upload(client, "Name,Reference number,Sector\n,1,Nowhere\n")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "There is a problem with the file" in page
    assert "Row 2: Name: enter the setting" in page and "Row 2: Sector:" in page
    not_csv = client.post(
        "/admin/agencies/import",
        data={"step": "preview", "file": (io.BytesIO(b"%PDF-1.4"), "settings.pdf")},
        content_type="multipart/form-data",
    )
    assert not_csv.status_code == 400 and "must be a CSV file" in not_csv.get_data(as_text=True)
    assert client.post("/admin/agencies/import", data={"step": "preview"}).status_code == 400


def test_from_a_rounds_agencies_the_settings_are_added_to_the_round(client, world):
    sector(world.partnership.id, "education")
    round_ = make_round(world.partnership.id, kind=QuestionnaireKind.SELF_ASSESSMENT, agencies=[world.health])
    db.session.commit()
    login(client, world.user("admin"))
    assert "Add settings from a CSV" in client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    page = _upload(client, GOOD, round_id=str(round_.id)).get_data(as_text=True)
    assert "Add these settings to the round" in page
    applied = client.post(
        "/admin/agencies/import",
        data={"step": "apply", "csv_text": GOOD, "round_id": str(round_.id), "add_to_round": "yes"},
    )
    assert applied.status_code == 303 and f"/rounds/{round_.id}" in applied.location
    db.session.refresh(round_)
    assert {a.name for a in round_.agencies} == {
        "North Hospital",
        "Hill Primary School",
        "Little Acorns Nursery",
        "North Police",
    }


def test_the_template_and_the_export_hold_no_formula(client, world):
    with system_actor("test"):
        services.update_agency(world.police, '=HYPERLINK("http://x")', world.police.sector)
        db.session.commit()
    login(client, world.user("admin"))
    template = client.get("/admin/agencies/import/template.csv")
    assert template.status_code == 200 and template.data.startswith(b"Name,Reference number,Sector,Contact email")
    exported = client.get("/admin/agencies/settings.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in exported and "\n=HYPERLINK" not in exported
    login(client, world.user("qa_member"))
    assert client.get("/admin/agencies/settings.csv").status_code == 403


# -- the API --


def test_the_api_dry_run_then_applies_and_names_bad_rows(api, world):
    sector(world.partnership.id, "education")
    admin = api(world.user("admin"))
    dry = admin.post("/api/v1/agencies/import?dry_run=true", data=GOOD, content_type="text/csv")
    assert dry.status_code == 200, dry.get_json()
    assert (dry.get_json()["added"], dry.get_json()["updated"], dry.get_json()["dry_run"]) == (2, 1, True)
    assert len(_links(world.partnership.id)) == 2
    done = admin.post(
        "/api/v1/agencies/import",
        data={"file": (io.BytesIO(GOOD.encode()), "settings.csv")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 200 and all(row["agency_id"] for row in done.get_json()["rows"])
    again = admin.post("/api/v1/agencies/import", data=GOOD, content_type="text/csv").get_json()
    assert again["unchanged"] == 3 and again["added"] == 0
    bad = admin.post("/api/v1/agencies/import", data="Name,Reference number,Sector\nX,,Mars\n", content_type="text/csv")
    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) == {"row 2.reference_number", "row 2.sector"}
    agency = admin.get(f"/api/v1/agencies/{world.police.agency_id}").get_json()
    assert agency["reference_number"] == "PF-01"
    patched = admin.patch(f"/api/v1/agencies/{world.police.agency_id}", json={"reference_number": "100001"})
    assert patched.status_code == 409


def test_the_api_adds_the_files_settings_to_a_round(api, world):
    sector(world.partnership.id, "education")
    round_ = make_round(world.partnership.id, kind=QuestionnaireKind.SELF_ASSESSMENT, agencies=[world.health])
    db.session.commit()
    done = api(world.user("admin")).post(
        f"/api/v1/agencies/import?round_id={round_.id}", data=GOOD, content_type="text/csv"
    )
    assert done.status_code == 200, done.get_json()
    db.session.refresh(round_)
    assert len(round_.agencies) == 4
    # a round of another partnership is not found; a bad parameter is named
    other = make_round(world.other_partnership.id, kind=QuestionnaireKind.SELF_ASSESSMENT)
    db.session.commit()
    missing = api(world.user("admin")).post(
        f"/api/v1/agencies/import?round_id={other.id}", data=GOOD, content_type="text/csv"
    )
    assert missing.status_code == 404
    bad = api(world.user("admin")).post("/api/v1/agencies/import?dry_run=maybe", data=GOOD, content_type="text/csv")
    assert bad.status_code == 400 and "dry_run" in bad.get_json()["error"]["fields"]
