"""File storage for evidence files.

``store_file()`` takes an uploaded stream, refuses it unless it is small enough
(``MAX_FILE_BYTES``) and its content (not its name) is an allowed type, and
writes it under ``FILE_STORAGE_DIR`` (outside the web root) in a file named by
its SHA-256, through a temporary file and a rename, so a half-written file is
never seen. Identical content is stored once; each upload still gets its own
:class:`StoredFile` row with the name the person gave it. The name a person
gave is only ever shown, never used as a path.

A file is written before the transaction commits. If the transaction rolls
back, the bytes stay on disk with no row pointing at them; they are harmless
(named by hash, never served) and :func:`unreferenced_files` lists them.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .audit import Audited
from .errors import DomainError
from .models import UTCDateTime, utcnow

_CHUNK = 64 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: control characters that do not belong in a text file (tab, newlines and form feed do)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
TEXT = "text/plain"
CSV = "text/csv"

#: the file name endings that go with each allowed type
EXTENSIONS: dict[str, tuple[str, ...]] = {
    PDF: (".pdf",),
    PNG: (".png",),
    JPEG: (".jpg", ".jpeg"),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
    PPTX: (".pptx",),
    TEXT: (".txt",),
    CSV: (".csv",),
}

#: an Office Open XML package's main part, as named in its [Content_Types].xml
_OFFICE_MAIN_PARTS = {
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}

ALLOWED_MESSAGE = (
    "The selected file must be a PDF, PNG, JPEG, Word (.docx), Excel (.xlsx), PowerPoint (.pptx), text or CSV file"
)


class StoredFile(Audited, db.Model):
    """One uploaded file: who gave it, its name as given, and its content's hash."""

    __tablename__ = "stored_files"
    __table_args__ = (
        sa.CheckConstraint("size_bytes > 0", name="size_positive"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    #: the name the person gave it: shown, never used as a path
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    #: found from the content, not from the name or the browser
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int] = mapped_column()
    #: hex SHA-256 of the content, which also names the file on disk
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: none when the system made the file (an export, an import)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<StoredFile {self.id} {self.sha256[:12]}>"


# -- where files live --


def storage_dir() -> Path:
    return Path(current_app.config["FILE_STORAGE_DIR"])


def _blob_path(sha256: str) -> Path:
    if not _SHA256.fullmatch(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return storage_dir() / sha256[:2] / sha256


# -- storing --


def store_file(
    stream: BinaryIO,
    filename: str | None,
    *,
    partnership_id: int,
    uploaded_by_id: int | None,
    field: str = "file",
) -> StoredFile:
    """Check and keep an uploaded file; add (not commit) its :class:`StoredFile` row.

    Raises DomainError naming ``field`` when the file is empty, too large or
    not an allowed type.
    """
    limit = int(current_app.config["MAX_FILE_BYTES"])
    name = clean_filename(filename)
    root = storage_dir()
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    handle = tempfile.NamedTemporaryFile(dir=root / "tmp", prefix="upload-", delete=False)  # noqa: SIM115 - renamed or removed below
    tmp_path = Path(handle.name)
    try:
        with handle:
            # Never read more than one byte past the limit, however much is sent.
            while chunk := stream.read(min(_CHUNK, limit + 1 - size)):
                size += len(chunk)
                if size > limit:
                    raise DomainError(f"The selected file must be smaller than {_human(limit)}", field=field)
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if size == 0:
            raise DomainError("The selected file is empty", field=field)
        content_type = _sniff(tmp_path, head, name)
        if content_type is None:
            raise DomainError(ALLOWED_MESSAGE, field=field)
        if not name.lower().endswith(EXTENSIONS[content_type]):
            raise DomainError(
                f"The selected file's name must end {' or '.join(EXTENSIONS[content_type])}, "
                f"since its content is a {_describe(content_type)}",
                field=field,
            )
        sha256 = digest.hexdigest()
        final = _blob_path(sha256)
        final.parent.mkdir(exist_ok=True)
        if final.exists():
            tmp_path.unlink()  # the same content is already stored
        else:
            os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    stored = StoredFile(
        partnership_id=partnership_id,
        original_filename=name,
        content_type=content_type,
        size_bytes=size,
        sha256=sha256,
        uploaded_by_id=uploaded_by_id,
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def store_made_file(data: bytes, filename: str, content_type: str, *, partnership_id: int) -> StoredFile:
    """Keep a file the system made (a drawn report): written like an upload, through a temporary file and a
    rename, named by its hash; adds (not commits) its :class:`StoredFile` row with no uploader."""
    if not data:
        raise ValueError("a made file is never empty")
    if content_type not in EXTENSIONS:
        raise ValueError(f"not an allowed type: {content_type}")
    root = storage_dir()
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    sha256 = hashlib.sha256(data).hexdigest()
    final = _blob_path(sha256)
    if not final.exists():
        final.parent.mkdir(exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=root / "tmp", prefix="made-", delete=False)  # noqa: SIM115 - renamed or removed below
        tmp_path = Path(handle.name)
        try:
            with handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_path, final)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
    stored = StoredFile(
        partnership_id=partnership_id,
        original_filename=clean_filename(filename),
        content_type=content_type,
        size_bytes=len(data),
        sha256=sha256,
        uploaded_by_id=None,
    )
    db.session.add(stored)
    db.session.flush()
    return stored


class MissingFileError(DomainError):
    """A file's row is there but its content is not on disk (a lost disk, a restore without the files)."""

    status_code = 410


def open_file(stored: StoredFile) -> BinaryIO:
    """The stored content, as a binary stream the caller closes.

    Raises MissingFileError (410, said in words on a page and in the API) when the content is not on disk."""
    try:
        return _blob_path(stored.sha256).open("rb")
    except FileNotFoundError:
        current_app.logger.error("stored file %s (%s) is missing from %s", stored.id, stored.sha256, storage_dir())
        raise MissingFileError(
            f"The content of {stored.original_filename} is missing from the file store. "
            "Ask an administrator to restore the file store from its backup.",
            field="file",
        ) from None


def unreferenced_files() -> Iterator[Path]:
    """Files on disk that no :class:`StoredFile` row names (left by rolled-back uploads)."""
    known = set(db.session.scalars(sa.select(StoredFile.sha256).distinct()))
    root = storage_dir()
    if not root.exists():
        return
    for path in sorted(root.glob("??/*")):
        if _SHA256.fullmatch(path.name) and path.name not in known:
            yield path


def clean_filename(filename: str | None) -> str:
    """The last part of a client's file name, without control characters, at most 255 characters."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = stem[: 255 - len(ext) - 1] + dot + ext if dot and len(ext) < 16 else name[:255]
    return name or "file"


# -- what the content is --


def _sniff(path: Path, head: bytes, name: str) -> str | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return _office_type(path)
    if _is_utf8_text(path):
        return CSV if name.lower().endswith(".csv") else TEXT
    return None


def _office_type(path: Path) -> str | None:
    """DOCX, XLSX or PPTX from the package's [Content_Types].xml; None for any other zip."""
    try:
        with zipfile.ZipFile(path) as package:
            info = package.getinfo("[Content_Types].xml")
            if info.file_size > 1024 * 1024:  # a real one is a few kB; do not inflate a bomb
                return None
            types = package.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, NotImplementedError):
        return None
    for content_type, main_part in _OFFICE_MAIN_PARTS.items():
        if f'ContentType="{main_part}"' in types:
            return content_type
    return None  # includes macro-enabled files (.docm, .xlsm), which are refused


def _is_utf8_text(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                if _CONTROL.search(decoder.decode(chunk)):
                    return False
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _describe(content_type: str) -> str:
    return {
        PDF: "PDF",
        PNG: "PNG image",
        JPEG: "JPEG image",
        DOCX: "Word document",
        XLSX: "Excel workbook",
        PPTX: "PowerPoint presentation",
        TEXT: "text file",
        CSV: "CSV file",
    }[content_type]


def _human(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)}MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024}KB"
    return f"{size} bytes"


# -- redaction (see core.redaction) --

#: files whose content can be rewritten: text as it is, Office packages part by part
_REWRITABLE = {TEXT, CSV, DOCX, XLSX, PPTX}


def _store_bytes(data: bytes) -> str:
    """Keep ``data`` under its hash (through a temporary file and a rename, as uploads are); its hash."""
    sha256 = hashlib.sha256(data).hexdigest()
    final = _blob_path(sha256)
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        (storage_dir() / "tmp").mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=storage_dir() / "tmp", prefix="redact-", delete=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, final)
    return sha256


def _rewritten(data: bytes, content_type: str, replace: Callable[[str], str]) -> bytes | None:
    """The content with every match replaced, or None if nothing in it matched."""
    if content_type in (TEXT, CSV):
        text = data.decode("utf-8")
        new = replace(text)
        return None if new == text else new.encode("utf-8")
    source = io.BytesIO(data)
    out = io.BytesIO()
    changed = False
    with zipfile.ZipFile(source) as package, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for info in package.infolist():
            part = package.read(info)
            if info.filename.endswith((".xml", ".rels")):
                # References are letters, digits, spaces and _/.- only: the same in XML as in text.
                text = part.decode("utf-8")
                new = replace(text)
                if new != text:
                    part, changed = new.encode("utf-8"), True
            rewritten.writestr(info, part)
    return out.getvalue() if changed else None


def redact_files(partnership_id: int, replace: Callable[[str], str]) -> int:
    """Rewrite the partnership's stored text, CSV and Office files whose content ``replace`` changes; how many.

    Each rewritten file is stored under its new hash and its row pointed at it. The old content is removed
    from disk only after the change commits (a job), and only if no other row still names it, so a rollback
    never leaves a row without its file. PDFs and images are not rewritten (see docs/admin-guide.md).
    """
    from . import jobs

    table = StoredFile.__table__
    rows = db.session.execute(
        sa.select(table.c.id, table.c.sha256, table.c.content_type).where(
            table.c.partnership_id == partnership_id, table.c.content_type.in_(_REWRITABLE)
        )
    ).all()
    changed = 0
    for file_id, sha256, content_type in rows:
        path = _blob_path(sha256)
        if not path.exists():
            continue
        new = _rewritten(path.read_bytes(), content_type, replace)
        if new is None:
            continue
        new_sha256 = _store_bytes(new)
        db.session.execute(sa.update(table).where(table.c.id == file_id).values(sha256=new_sha256, size_bytes=len(new)))
        jobs.enqueue(remove_if_unreferenced, sha256)
        changed += 1
    return changed


def remove_if_unreferenced(sha256: str) -> bool:
    """A job: delete stored content that no row names any more (after a redaction rewrote it)."""
    if db.session.scalar(sa.select(StoredFile.id).where(StoredFile.sha256 == sha256).limit(1)) is not None:
        return False
    _blob_path(sha256).unlink(missing_ok=True)
    return True


def _register_redaction() -> None:
    from .redaction import register_place

    table = StoredFile.__table__
    register_place(
        table, lambda partnership_id: table.c.partnership_id == partnership_id, skip={"sha256", "content_type"}
    )


_register_redaction()
