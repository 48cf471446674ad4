"""Evidence file storage: real files, checked by content, kept by hash, written atomically."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from PIL import Image

from audit_app.core.audit import AuditEvent
from audit_app.core.errors import DomainError
from audit_app.core.storage import (
    CSV,
    DOCX,
    JPEG,
    PDF,
    PNG,
    PPTX,
    TEXT,
    XLSX,
    StoredFile,
    clean_filename,
    open_file,
    store_file,
    unreferenced_files,
)
from audit_app.extensions import db
from tests.core_fixtures import clock as clock

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE_BYTES = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"This program cannot be run in DOS mode"
)


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def _xlsx() -> bytes:
    book = Workbook()
    book.active["A1"] = "Evidence"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _package(main_type: str, main_part: str) -> bytes:
    """A minimal Office Open XML package whose main part has ``main_type``."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{main_part}" ContentType="{main_type}"/>'
        "</Types>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", content_types)
        package.writestr("_rels/.rels", "<Relationships/>")
        package.writestr(main_part, "<root/>")
    return out.getvalue()


DOCX_BYTES = _package(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "word/document.xml"
)
PPTX_BYTES = _package(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", "ppt/presentation.xml"
)
DOCM_BYTES = _package("application/vnd.ms-word.document.macroEnabled.main+xml", "word/document.xml")


@pytest.fixture()
def files(app, world, tmp_path, monkeypatch):
    """Storage in this test's own directory; returns a helper that stores bytes as the north admin."""
    root = tmp_path / "files"
    monkeypatch.setitem(app.config, "FILE_STORAGE_DIR", str(root))

    def _store(data: bytes, filename: str, **kwargs) -> StoredFile:
        return store_file(
            io.BytesIO(data),
            filename,
            partnership_id=world.partnership.id,
            uploaded_by_id=world.user("admin").id,
            **kwargs,
        )

    _store.root = root
    return _store


def _left_in_tmp(root) -> list:
    tmp = root / "tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (PDF_BYTES, "chronology.pdf", PDF),
        (_image("PNG"), "genogram.png", PNG),
        (_image("JPEG"), "photo.JPG", JPEG),
        (_image("JPEG"), "photo.jpeg", JPEG),
        (DOCX_BYTES, "action plan.docx", DOCX),
        (_xlsx(), "tracker.xlsx", XLSX),
        (PPTX_BYTES, "briefing.pptx", PPTX),
        ("Notes from the panel \u2013 Zoë's case\r\n".encode(), "notes.txt", TEXT),
        ("\ufeffagency,grade\nPolice,Good\n".encode(), "grades.csv", CSV),
    ],
)
def test_allowed_files_are_stored_by_hash_with_their_type_from_the_content(files, data, filename, content_type):
    stored = files(data, filename)
    db.session.commit()
    sha = hashlib.sha256(data).hexdigest()
    assert (stored.content_type, stored.size_bytes, stored.sha256) == (content_type, len(data), sha)
    assert stored.original_filename == filename
    path = files.root / sha[:2] / sha
    assert path.read_bytes() == data
    assert filename not in {p.name for p in files.root.rglob("*")}  # never the person's name on disk
    with open_file(stored) as handle:
        assert handle.read() == data
    assert _left_in_tmp(files.root) == []


def test_the_row_records_partnership_uploader_and_time_and_is_audited(files, world, clock):
    clock.set(datetime(2026, 12, 29, 9, 30, tzinfo=UTC))
    stored = files(PDF_BYTES, "minutes.pdf")
    db.session.commit()
    row = db.session.get(StoredFile, stored.id)
    assert row.partnership_id == world.partnership.id
    assert row.uploaded_by_id == world.user("admin").id
    assert row.created_at == clock.now()
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "StoredFile", AuditEvent.entity_id == stored.id)
    )
    assert event.action == "create"
    assert event.partnership_id == world.partnership.id


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (EXE_BYTES, "report.pdf"),  # a program renamed
        (EXE_BYTES, "setup.exe"),
        (DOCM_BYTES, "macros.docx"),  # macro-enabled Word, renamed
        (_package("application/xml", "other.xml"), "not-office.docx"),  # a zip that is not an Office file
        (b"PK\x03\x04 not really a zip", "broken.xlsx"),
        ("café".encode("latin-1"), "notes.txt"),  # not UTF-8
        (b"text with a \x00 NUL", "notes.txt"),
        (b"GIF89a\x01\x00\x01\x00", "animation.gif"),
    ],
)
def test_other_content_is_refused_naming_the_field(files, data, filename):
    with pytest.raises(DomainError) as refused:
        files(data, filename)
    assert refused.value.field == "file"
    assert refused.value.message.startswith("The selected file must be a PDF, PNG, JPEG, Word (.docx)")
    assert list(files.root.glob("??/*")) == []
    assert _left_in_tmp(files.root) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0


def test_a_name_that_does_not_match_the_content_is_refused(files):
    with pytest.raises(DomainError, match=r"name must end \.pdf, since its content is a PDF") as refused:
        files(PDF_BYTES, "minutes.docx")
    assert refused.value.field == "file"
    with pytest.raises(DomainError, match=r"must end \.png"):
        files(_image("PNG"), "genogram.pdf")


def test_an_empty_file_is_refused(files):
    with pytest.raises(DomainError, match="The selected file is empty") as refused:
        files(b"", "empty.txt", field="evidence")
    assert refused.value.field == "evidence"


def test_a_file_over_the_limit_is_refused_without_reading_it_all(app, files, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_FILE_BYTES", 1024)

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"a" * len(buffer)
            Endless.read_bytes += len(buffer)
            return len(buffer)

    with pytest.raises(DomainError, match="The selected file must be smaller than 1KB") as refused:
        store_file(io.BufferedReader(Endless()), "huge.txt", partnership_id=1, uploaded_by_id=None)
    assert refused.value.field == "file"
    assert Endless.read_bytes <= 8192  # one buffered read past the limit, no more
    assert _left_in_tmp(files.root) == []
    files(b"a" * 1024, "exactly.txt")  # the limit itself is allowed


def test_the_default_limit_is_ten_mebibytes(app):
    assert app.config["MAX_FILE_BYTES"] == 10 * 1024 * 1024


def test_the_same_content_is_kept_once_with_a_row_per_upload(files):
    first = files(PDF_BYTES, "a.pdf")
    second = files(PDF_BYTES, "b.pdf")
    assert first.id != second.id and first.sha256 == second.sha256
    assert len(list(files.root.glob("??/*"))) == 1
    assert _left_in_tmp(files.root) == []


def test_a_path_in_the_filename_is_only_ever_a_name(files):
    stored = files(b"hello\n", "..\\..\\windows/../../etc/passwd.txt")
    assert stored.original_filename == "passwd.txt"
    assert [p.relative_to(files.root).parts[0] for p in files.root.rglob("*") if p.is_file()] == [stored.sha256[:2]]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, "file"),
        ("", "file"),
        ("C:\\Users\\me\\Desktop\\plan.docx", "plan.docx"),
        ("tab\there.txt", "tabhere.txt"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_clean_filename(given, kept):
    assert clean_filename(given) == kept


def test_a_tampered_hash_is_never_a_path(files):
    stored = files(PDF_BYTES, "a.pdf")
    stored.sha256 = "../" + stored.sha256[3:]
    with pytest.raises(ValueError, match="SHA-256"):
        open_file(stored)


def test_files_left_by_a_rolled_back_upload_are_listed(files):
    kept = files(PDF_BYTES, "kept.pdf")
    db.session.commit()
    files(b"rolled back\n", "gone.txt")
    db.session.rollback()
    orphans = list(unreferenced_files())
    assert [p.name for p in orphans] == [hashlib.sha256(b"rolled back\n").hexdigest()]
    assert kept.sha256 not in {p.name for p in orphans}
