"""Links and files per criterion of a self-assessment return (rounds.evidence): the services, the pages, who
sees and changes them, bad input, carrying forward, and the API."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from audit_app.core.audit import system_actor
from audit_app.core.errors import FieldErrors, NotAllowedError
from audit_app.core.roles import Role
from audit_app.core.storage import StoredFile
from audit_app.extensions import db
from audit_app.rounds import carry, evidence, services
from audit_app.rounds.models import CriterionEvidence, Return, ReturnStatus, RoundStatus
from tests.conftest import login
from tests.factories import make_questionnaire, make_return_answered, make_round, make_user

S11 = "section11_self_assessment"
KEY = "leadership_named_lead"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _sa_return(world, agency=None, status: RoundStatus = RoundStatus.OPEN) -> Return:
    version = make_questionnaire(world.partnership.id, library_key=S11)
    round_ = make_round(
        world.partnership.id,
        version=version,
        title="Section 11, 2027",
        agencies=[agency or world.police],
        status=status,
    )
    db.session.commit()
    return db.session.scalar(sa.select(Return).where(Return.round_id == round_.id))


@pytest.fixture()
def ret(world) -> Return:
    return _sa_return(world)


# -- services --


def test_a_link_is_added_with_a_title_and_listed_under_its_criterion(world, ret):
    with system_actor("test"):
        item = evidence.add_link(
            ret, KEY, title=" Safeguarding policy ", url="https://example.org/policy.pdf", by=world.user("auditor").id
        )
        db.session.commit()
    assert (item.title, item.url, item.kind.value) == ("Safeguarding policy", "https://example.org/policy.pdf", "link")
    assert [i.id for i in evidence.items_by_key(ret)[KEY]] == [item.id]


@pytest.mark.parametrize(
    ("title", "url", "fields"),
    [
        ("", "", {"title", "url"}),
        ("Policy", "javascript:alert(1)", {"url"}),
        ("Policy", "ftp://example.org/x", {"url"}),
        ("Policy", "https://", {"url"}),
        ("Policy", "https://exa mple.org", {"url"}),
        ("Policy", "www.example.org", {"url"}),
        ("x" * 201, "https://example.org/" + "a" * 2000, {"title", "url"}),
    ],
)
def test_bad_links_are_refused_naming_every_field(world, ret, title, url, fields):
    with pytest.raises(FieldErrors) as refused:
        evidence.add_link(ret, KEY, title=title, url=url, by=None)
    assert set(refused.value.fields) == fields
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CriterionEvidence)) == 0


def test_an_unknown_criterion_is_refused(world, ret):
    with pytest.raises(FieldErrors) as refused:
        evidence.add_link(ret, "no_such_question", title="Policy", url="https://example.org", by=None)
    assert set(refused.value.fields) == {"question_key"}


def test_files_are_checked_by_content_and_a_refused_one_keeps_none(world, ret):
    files = [(io.BytesIO(PDF), "policy.pdf"), (io.BytesIO(b"MZ\x90\x00\x03\x00\x00\x00"), "tool.exe")]
    with pytest.raises(FieldErrors) as refused:
        evidence.add_files(ret, KEY, files, by=None)
    assert "tool.exe" in refused.value.fields["files"][0]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0
    with system_actor("test"):
        (item,) = evidence.add_files(ret, KEY, [(io.BytesIO(PDF), "policy.pdf")], by=None)
        db.session.commit()
    assert item.label == "policy.pdf" and item.stored_file.content_type == "application/pdf"


def test_nothing_changes_once_the_return_is_submitted(world, ret):
    with system_actor("test"):
        item = evidence.add_link(ret, KEY, title="Policy", url="https://example.org", by=None)
        make_return_answered(ret, world.user("agency_lead"), submit=True)
        db.session.commit()
    assert ret.status == ReturnStatus.SUBMITTED
    with pytest.raises(NotAllowedError):
        evidence.add_link(ret, KEY, title="Another", url="https://example.org/2", by=None)
    with pytest.raises(NotAllowedError):
        evidence.remove_item(ret, item)


def test_links_carry_forward_to_the_next_round_and_files_do_not(world, ret):
    with system_actor("test"):
        evidence.add_link(ret, KEY, title="Policy", url="https://example.org/policy", by=None)
        evidence.add_files(ret, KEY, [(io.BytesIO(PDF), "minutes.pdf")], by=None)
        make_return_answered(ret, world.user("agency_lead"), submit=True)
        services.move_round(ret.round, RoundStatus.CLOSED)
        following = carry.plan_next_round(ret.round, title="Section 11, 2028", opens_on=None, due_on=None)
        services.move_round(following, RoundStatus.OPEN)
        db.session.commit()
    new = db.session.scalar(sa.select(Return).where(Return.round_id == following.id))
    (carried,) = evidence.items_of(new)
    assert (carried.kind.value, carried.title, carried.carried_forward) == ("link", "Policy", True)


# -- pages --


def test_the_agency_attaches_a_link_and_a_file_and_the_qa_group_sees_and_downloads_them(client, world, ret):
    login(client, world.user("auditor"))
    page = client.get(f"/returns/{ret.id}/sections/leadership").get_data(as_text=True)
    assert "Add or remove links and files" in page and "None attached." in page
    added = client.post(
        f"/returns/{ret.id}/criteria/{KEY}/links", data={"title": "Policy 2027", "url": "https://example.org/p"}
    )
    assert added.status_code == 303
    attached = client.post(
        f"/returns/{ret.id}/criteria/{KEY}/files",
        data={"files": (io.BytesIO(PDF), "board minutes.pdf")},
        content_type="multipart/form-data",
    )
    assert attached.status_code == 303
    page = client.get(f"/returns/{ret.id}/criteria/{KEY}/evidence").get_data(as_text=True)
    assert "Policy 2027" in page and "board minutes.pdf" in page and "Remove" in page

    login(client, world.user("qa_member"))
    for url in (f"/returns/{ret.id}/sections/leadership", f"/returns/{ret.id}/answers"):
        shown = client.get(url).get_data(as_text=True)
        assert "Policy 2027" in shown and "board minutes.pdf" in shown, url
    file_item = next(i for i in evidence.items_of(ret) if i.kind.value == "file")
    download = client.get(f"/returns/{ret.id}/criterion-evidence/{file_item.id}/file")
    assert download.status_code == 200 and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # the QA group reads, but neither adds nor removes
    assert "Remove" not in client.get(f"/returns/{ret.id}/criteria/{KEY}/evidence").get_data(as_text=True)
    assert client.post(f"/returns/{ret.id}/criterion-evidence/{file_item.id}/remove").status_code == 403


def test_bad_input_on_the_page_is_named_in_the_error_summary_and_nothing_is_kept(client, world, ret):
    login(client, world.user("agency_lead"))
    refused = client.post(f"/returns/{ret.id}/criteria/{KEY}/links", data={"title": "", "url": "javascript:x"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "There is a problem" in page and "Enter a title for the link" in page and "https://" in page
    refused = client.post(
        f"/returns/{ret.id}/criteria/{KEY}/files",
        data={"files": (io.BytesIO(b"\x00\x01binary"), "blob.bin")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400 and "blob.bin" in refused.get_data(as_text=True)
    assert evidence.items_of(ret) == []
    assert client.get(f"/returns/{ret.id}/criteria/not_a_question/evidence").status_code == 404


def test_the_agency_removes_a_link(client, world, ret):
    with system_actor("test"):
        item = evidence.add_link(ret, KEY, title="Old policy", url="https://example.org/old", by=None)
        db.session.commit()
    login(client, world.user("auditor"))
    assert client.post(f"/returns/{ret.id}/criterion-evidence/{item.id}/remove").status_code == 303
    assert evidence.items_of(ret) == []


def test_another_agency_reaches_nothing_of_the_return(client, world, ret):
    with system_actor("test"):
        (item,) = evidence.add_files(ret, KEY, [(io.BytesIO(PDF), "policy.pdf")], by=None)
        health_lead = make_user(world.partnership.id, Role.AGENCY_LEAD, agency_id=world.health.agency_id)
        db.session.commit()
    for user in (health_lead, world.user("other_admin")):
        login(client, user)
        for url in (
            f"/returns/{ret.id}/criteria/{KEY}/evidence",
            f"/returns/{ret.id}/criterion-evidence/{item.id}/file",
        ):
            assert client.get(url).status_code == 404, (user.email, url)
        assert client.post(f"/returns/{ret.id}/criterion-evidence/{item.id}/remove").status_code == 404
    # an item of one return is not reached through another return's URL
    other = _sa_return(world, agency=world.health)
    login(client, world.user("qa_member"))
    assert client.get(f"/returns/{other.id}/criterion-evidence/{item.id}/file").status_code == 404


# -- the API --


def test_the_api_adds_lists_downloads_and_removes(api, world, ret):
    auditor = api(world.user("auditor"))
    link = auditor.post(
        f"/api/v1/returns/{ret.id}/evidence/links",
        json={"question_key": KEY, "title": "Policy", "url": "https://example.org/p"},
    )
    assert link.status_code == 201, link.get_json()
    assert link.get_json()["kind"] == "link" and link.get_json()["question_key"] == KEY
    uploaded = auditor.post(
        f"/api/v1/returns/{ret.id}/evidence/files",
        data={"question_key": KEY, "files": (io.BytesIO(PDF), "policy.pdf")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    (file_out,) = uploaded.get_json()["items"]
    listed = api(world.user("scrutineer")).get(f"/api/v1/returns/{ret.id}/evidence").get_json()
    assert {row["kind"] for row in listed["items"]} == {"link", "file"}
    download = api(world.user("qa_member")).get(file_out["file"]["url"])
    assert download.status_code == 200 and download.data == PDF
    bad = auditor.post(
        f"/api/v1/returns/{ret.id}/evidence/links", json={"question_key": "nope", "title": "", "url": "mailto:x@y"}
    )
    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) == {"question_key", "title", "url"}
    assert api(world.user("qa_member")).delete(f"/api/v1/returns/{ret.id}/evidence/{file_out['id']}").status_code == 403
    assert auditor.delete(f"/api/v1/returns/{ret.id}/evidence/{file_out['id']}").status_code == 204
    assert len(evidence.items_of(ret)) == 1


def test_a_body_past_the_request_limit_is_told_beside_the_file_input(app, client, world, ret):
    login(client, world.user("auditor"))
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2000
    try:
        refused = client.post(
            f"/returns/{ret.id}/criteria/{KEY}/files",
            data={"files": (io.BytesIO(b"x" * 5000), "big.txt")},
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert refused.status_code == 413
    page = refused.get_data(as_text=True)
    assert "The files are too large" in page and 'href="#files"' in page
    assert evidence.items_of(ret) == []
