"""Links and files an agency attaches to a criterion (a question) of its return, as evidence for its answer.

Generic to any return: a self-assessment's "links and files" per criterion, and any other kind's that wants
them. Added and removed by the agency while its return is editable and the round open (checked here, under
the same rules as saving answers); seen by whoever can see the return (the views load the return through
the scoped ``returns_query`` first).

Files are kept through ``core.storage`` (size and type checked by content, named by hash, never served
inline); a refused file names itself and nothing is kept. Links must be http or https, with a title.

Carrying forward (year on year): links are copied into the next round's return, marked carried forward,
since a policy or a web page usually still stands; files are not, since a document is evidence at a date
and the agency should attach this year's.

Services flush and let the audit trail record each change; views commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..core import storage
from ..core.errors import DomainError, FieldErrors, NotAllowedError
from ..extensions import db
from ..questionnaires.models import Question
from .models import CriterionEvidence, CriterionEvidenceKind, Return, RoundStatus

#: the types of file a criterion takes (found from the content)
FILE_TYPES = frozenset(
    {storage.PDF, storage.DOCX, storage.XLSX, storage.PPTX, storage.PNG, storage.JPEG, storage.TEXT, storage.CSV}
)
FILE_TYPES_MESSAGE = "must be a PDF, Word (.docx), Excel (.xlsx), PowerPoint (.pptx), PNG, JPEG, text or CSV file"
#: how many files may be attached at once, and to one criterion in all
MAX_FILES_AT_ONCE = 10
MAX_ITEMS_PER_CRITERION = 30
TITLE_LIMIT = 200
URL_LIMIT = 2000


class _Problems:
    """Every problem with a change, by field, raised together."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field_name: str, message: str) -> None:
        self.fields.setdefault(field_name, []).append(message)

    def raise_any(self) -> None:
        if self.fields:
            raise FieldErrors(self.fields)


def check_editable(ret: Return) -> None:
    """Refuse (409) a change to a return that moved on or whose round is not open, as saving answers does."""
    if not ret.status.is_editable:
        raise NotAllowedError(f"This return is {ret.status.label.lower()}: its links and files cannot be changed")
    if ret.round.status != RoundStatus.OPEN:
        raise NotAllowedError("The round is not open for returns: links and files cannot be changed")


def criterion(ret: Return, question_key: str) -> Question | None:
    """The question ``question_key`` of the return's questionnaire that its agency is asked (None otherwise)."""
    from .services import applicable_questions

    return next((q for q in applicable_questions(ret) if q.key == question_key), None)


def criterion_keys(ret: Return) -> list[str]:
    """The keys of the questions the return's agency is asked, in order."""
    from .services import applicable_questions

    return [q.key for q in applicable_questions(ret)]


def items_of(ret: Return, question_key: str | None = None) -> list[CriterionEvidence]:
    """The return's links and files (of one criterion, if given), oldest first."""
    query = sa.select(CriterionEvidence).where(CriterionEvidence.return_id == ret.id)
    if question_key is not None:
        query = query.where(CriterionEvidence.question_key == question_key)
    return list(db.session.scalars(query.order_by(CriterionEvidence.id)))


def items_by_key(ret: Return) -> dict[str, list[CriterionEvidence]]:
    """The return's links and files by question key (one query), for the return's pages."""
    found: dict[str, list[CriterionEvidence]] = {}
    for item in items_of(ret):
        found.setdefault(item.question_key, []).append(item)
    return found


def _count(ret: Return, question_key: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CriterionEvidence)
        .where(CriterionEvidence.return_id == ret.id, CriterionEvidence.question_key == question_key)
    )


def clean_url(raw: str | None) -> tuple[str, str | None]:
    """The link as given (stripped) and what is wrong with it, if anything: http or https, with a host."""
    url = (raw or "").strip()
    if not url:
        return url, "Enter the link's web address"
    if len(url) > URL_LIMIT:
        return url, f"The web address must be {URL_LIMIT:,} characters or fewer"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return url, "The web address must not contain spaces"
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, "Enter a web address starting https:// or http://"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return url, "Enter a web address starting https:// or http://, like https://www.example.org/policy"
    return url, None


def add_link(
    ret: Return, question_key: str, *, title: str | None, url: str | None, by: int | None
) -> CriterionEvidence:
    """Attach a link with a title to a criterion of the return; every bad field named at once."""
    check_editable(ret)
    problems = _Problems()
    if criterion(ret, question_key) is None:
        problems.add("question_key", "Choose a criterion this return is asked")
    title = (title or "").strip()
    if not title:
        problems.add("title", "Enter a title for the link, saying what it shows")
    elif len(title) > TITLE_LIMIT:
        problems.add("title", f"The title must be {TITLE_LIMIT} characters or fewer")
    url, problem = clean_url(url)
    if problem:
        problems.add("url", problem)
    if not problems.fields and _count(ret, question_key) >= MAX_ITEMS_PER_CRITERION:
        problems.add("url", f"A criterion can have at most {MAX_ITEMS_PER_CRITERION} links and files: remove one first")
    problems.raise_any()
    item = CriterionEvidence(
        return_id=ret.id,
        question_key=question_key,
        kind=CriterionEvidenceKind.LINK,
        title=title,
        url=url,
        added_by_id=by,
    )
    db.session.add(item)
    db.session.flush()
    return item


def add_files(
    ret: Return, question_key: str, files: Iterable[tuple[BinaryIO, str | None]], *, by: int | None
) -> list[CriterionEvidence]:
    """Attach files to a criterion of the return. Every file is checked (type by content, size) before anything
    is kept; a refused file names itself, and then none is kept."""
    check_editable(ret)
    problems = _Problems()
    if criterion(ret, question_key) is None:
        problems.add("question_key", "Choose a criterion this return is asked")
        problems.raise_any()
    files = [(stream, name) for stream, name in files if name]
    if not files:
        problems.add("files", "Choose a file to attach")
    elif len(files) > MAX_FILES_AT_ONCE:
        problems.add("files", f"Attach at most {MAX_FILES_AT_ONCE} files at once")
        files = []
    elif _count(ret, question_key) + len(files) > MAX_ITEMS_PER_CRITERION:
        problems.add(
            "files", f"A criterion can have at most {MAX_ITEMS_PER_CRITERION} links and files: remove some first"
        )
        files = []
    partnership_id = ret.round.partnership_id
    stored: list[storage.StoredFile] = []
    for stream, name in files:
        try:
            kept = storage.store_file(stream, name, partnership_id=partnership_id, uploaded_by_id=by, field="files")
        except DomainError as error:
            problems.add("files", f"{storage.clean_filename(name)}: {error.message}")
            continue
        if kept.content_type not in FILE_TYPES:
            problems.add("files", f"{kept.original_filename}: the file {FILE_TYPES_MESSAGE}")
        stored.append(kept)
    if problems.fields:
        # nothing is kept unless all is well: the rows go, and the content unless another row holds the same bytes
        for kept in stored:
            db.session.delete(kept)
        db.session.flush()
        for sha256 in {kept.sha256 for kept in stored}:
            storage.remove_if_unreferenced(sha256)
        problems.raise_any()
    items = [
        CriterionEvidence(
            return_id=ret.id,
            question_key=question_key,
            kind=CriterionEvidenceKind.FILE,
            title=kept.original_filename[:TITLE_LIMIT],
            stored_file_id=kept.id,
            added_by_id=by,
        )
        for kept in stored
    ]
    db.session.add_all(items)
    db.session.flush()
    return items


def remove_item(ret: Return, item: CriterionEvidence) -> None:
    """Take a link or file off its criterion (the stored file's row and content stay: the audit trail names
    them, and identical content may be held by another record)."""
    check_editable(ret)
    if item.return_id != ret.id:
        raise NotAllowedError("This link or file belongs to another return")
    db.session.delete(item)
    db.session.flush()


def get_item(ret: Return, item_id: int) -> CriterionEvidence | None:
    """One of the return's links or files (None if it is not the return's)."""
    return db.session.scalar(
        sa.select(CriterionEvidence).where(CriterionEvidence.id == item_id, CriterionEvidence.return_id == ret.id)
    )


def carry_links(source: Return, ret: Return, question_keys: Iterable[str]) -> int:
    """Copy the links of ``source`` (the agency's last return) on criteria the new return still asks, marked
    carried forward; files are not carried. The number copied."""
    keys = set(question_keys)
    copied = 0
    for item in items_of(source):
        if item.kind != CriterionEvidenceKind.LINK or item.question_key not in keys:
            continue
        db.session.add(
            CriterionEvidence(
                return_id=ret.id,
                question_key=item.question_key,
                kind=CriterionEvidenceKind.LINK,
                title=item.title,
                url=item.url,
                added_by_id=item.added_by_id,
                carried_forward=True,
            )
        )
        copied += 1
    db.session.flush()
    return copied
