"""Retention: a reported case audit round's case-level records are removed once the partnership's period is over.

A partnership sets its retention period in months (``Partnership.retention_months``; none: records are kept
until it chooses one). ``flask purge`` (scheduled nightly, after the backup) finds each **reported** case audit
round whose period, counted from the day it was reported, is over; a round in any other state is never touched.
Without ``--apply`` it only says what it would remove.

Removing a round's case-level records, in one transaction per round:

* first the counts its findings are drawn from are kept (:class:`~.models.KeptCount`), counted by the
  reporting queries themselves, so the round's figures, the theme and agency trends and the learning themes
  across rounds read the same afterwards;
* then its returns (their answers, status history and evidence), the panel's judgements, the round's cases
  (and each case itself unless a round not yet purged still holds it), practitioners' involvement, the
  round's report PDFs and every uploaded file among them go; links to them from elsewhere (a recommendation
  made from a judgement, a later re-audit's link to the earlier case) are cleared, the rows that link stay;
* the audit trail keeps each event (who changed what kind of record, and when) but loses the values, which
  held the removed answers and references;
* a :class:`~.models.RoundPurge` row and an audit event record what went, in numbers.

Kept: the round itself (title, dates, questionnaire, status), the chair's report and its recommendations, the
recommendations and actions made from the round, the emails' counts, the access log (ids, no values). The
uploaded files' content is deleted from the file store once the transaction has committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..accounts.models import Partnership
from ..core import clock
from ..core.audit import AuditAction, AuditEvent, acting_label, permit_redaction, record_event
from ..core.storage import StoredFile, remove_if_unreferenced
from ..extensions import db
from ..questionnaires.models import QuestionnaireKind
from ..reporting.models import ReportFile
from ..reviews.clocks import add_months
from ..rounds.models import Return, Round, RoundStatus
from .models import Case, CaseJudgement, KeptCount, KeptFigure, RoundCase, RoundPurge

#: what the audit trail keeps of a removed record's values
REMOVED_VALUES = {"values": "removed at the end of the retention period"}
#: how the kinds of rows removed are named in a purge's record and on pages, in this order
REMOVED_KINDS = {
    "cases": "case references",
    "round_cases": "cases in the round",
    "returns": "returns",
    "answers": "answers",
    "return_events": "return status changes",
    "criterion_evidence": "evidence links and files",
    "case_judgements": "panel judgements",
    "practitioner_involvements": "practitioner involvement records",
    "report_files": "report PDFs",
    "stored_files": "uploaded or generated files",
}


def reported_on(round_: Round) -> date | None:
    """The day (in England) a round was reported."""
    if round_.reported_at is None:
        return None
    return round_.reported_at.astimezone(clock.LONDON).date()


def purge_due_on(round_: Round, months: int) -> date | None:
    """The first day a reported round's case-level records may be removed."""
    day = reported_on(round_)
    return None if day is None else add_months(day, months)


@dataclass
class Due:
    """A round whose records are due for removal, with what would go."""

    round: Round
    months: int
    due_on: date
    counts: dict[str, int]


def due_rounds(today: date, partnership_id: int | None = None) -> list[Due]:
    """Reported case audit rounds not yet purged whose period is over by ``today`` (of one partnership, or of
    every partnership with a period), oldest first, each with the rows it holds."""
    query = (
        sa.select(Round, Partnership.retention_months)
        .join(Partnership, Partnership.id == Round.partnership_id)
        .where(
            Partnership.retention_months.is_not(None),
            Round.kind == QuestionnaireKind.CASE_AUDIT,
            Round.status == RoundStatus.REPORTED,
            Round.reported_at.is_not(None),
            ~sa.select(RoundPurge.id).where(RoundPurge.round_id == Round.id).exists(),
        )
        .order_by(Round.reported_at, Round.id)
    )
    if partnership_id is not None:
        query = query.where(Round.partnership_id == partnership_id)
    due = []
    for round_, months in db.session.execute(query):
        due_on = purge_due_on(round_, months)
        if due_on is not None and due_on <= today:
            due.append(Due(round_, months, due_on, _held(round_.id)))
    return due


def _held(round_id: int) -> dict[str, int]:
    """How many rows of each kind a round holds (what a purge would remove; cases counted in the round)."""
    round_cases = sa.select(RoundCase.id).where(RoundCase.round_id == round_id)
    returns = sa.select(Return.id).where(Return.round_id == round_id)
    tables = db.metadata.tables

    def count(table: str, where: sa.ColumnElement[bool]) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(tables[table]).where(where)) or 0

    return {
        "round_cases": count("round_cases", tables["round_cases"].c.round_id == round_id),
        "returns": count("returns", tables["returns"].c.round_id == round_id),
        "answers": count("answers", tables["answers"].c.return_id.in_(returns)),
        "case_judgements": count("case_judgements", tables["case_judgements"].c.round_case_id.in_(round_cases)),
        "criterion_evidence": count("criterion_evidence", tables["criterion_evidence"].c.return_id.in_(returns)),
        "report_files": count("report_files", tables["report_files"].c.round_id == round_id),
    }


def describe(counts: dict[str, int]) -> str:
    """Counts of removed rows in words, in the order of :data:`REMOVED_KINDS` ("3 cases, 6 returns...")."""
    parts = [f"{counts[kind]:,} {label}" for kind, label in REMOVED_KINDS.items() if counts.get(kind)]
    return ", ".join(parts) or "nothing"


# -- the counts kept --


def _keep_counts(round_: Round) -> list[dict[str, Any]]:
    """The counts the round's findings are drawn from, by the reporting queries' own GROUP BYs."""
    from ..reporting import queries as q

    rows: list[dict[str, Any]] = []

    def add(figure: KeptFigure, *, agency_id: Any = None, key: str = "", level_id: Any = None, n: Any, cases: Any = 0):
        rows.append(
            {
                "round_id": round_.id,
                "figure": figure,
                "agency_id": None if agency_id is None or pd.isna(agency_id) else int(agency_id),
                "key": key,
                "level_id": None if level_id is None or pd.isna(level_id) else int(level_id),
                "n": int(n),
                "cases": int(cases),
            }
        )

    returns = db.session.execute(
        sa.select(Return.agency_id, Return.status, sa.func.count())
        .where(Return.round_id == round_.id)
        .group_by(Return.agency_id, Return.status)
    )
    for agency_id, status, n in returns:
        add(KeptFigure.RETURNS, agency_id=agency_id, key=getattr(status, "value", status), n=n, cases=n)
    cases = db.session.scalar(sa.select(sa.func.count()).select_from(RoundCase).where(RoundCase.round_id == round_.id))
    add(KeptFigure.CASES, n=cases or 0, cases=cases or 0)
    for row in q.round_answer_counts(round_.id).itertuples():
        add(KeptFigure.ANSWERS, agency_id=row.agency_id, key=row.question_key, level_id=row.level_id, n=row.n)
    grade_key = sa.case((CaseJudgement.section_key == "", sa.literal(q.OVERALL)), else_=CaseJudgement.section_key)
    panel = db.session.execute(
        sa.select(grade_key, CaseJudgement.grade_level_id, sa.func.count())
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .where(
            RoundCase.round_id == round_.id,
            CaseJudgement.grade_level_id.is_not(None),
            CaseJudgement.section_key != q.OVERALL,
        )
        .group_by(grade_key, CaseJudgement.grade_level_id)
    )
    for key, level_id, n in panel:
        add(KeptFigure.PANEL, key=key, level_id=level_id, n=n)
    # and on each agency's own cases, which an agency sees once the round shares the panel's grades
    by_agency = db.session.execute(
        sa.select(
            Return.agency_id, grade_key, CaseJudgement.grade_level_id, sa.func.count(sa.distinct(CaseJudgement.id))
        )
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .join(Return, Return.round_case_id == RoundCase.id)
        .where(
            RoundCase.round_id == round_.id,
            CaseJudgement.grade_level_id.is_not(None),
            CaseJudgement.section_key != q.OVERALL,
        )
        .group_by(Return.agency_id, grade_key, CaseJudgement.grade_level_id)
    )
    for agency_id, key, level_id, n in by_agency:
        add(KeptFigure.PANEL, agency_id=agency_id, key=key, level_id=level_id, n=n)
    # each agency's grades beside the panel's, as the findings count them
    from ..reporting import aggregation as agg

    agency_grades = q.round_agency_grades(round_.id)
    graded = agency_grades[~agency_grades["is_na"].astype(bool)]
    differences = agg.grade_differences(graded, q.panel_grades([round_.id]))
    agencies = sorted({int(a) for a in graded["agency_id"]})
    for agency_id, row in agg.difference_summary(differences, agencies, by="agency_id").iterrows():
        for key in ("same", "higher", "lower"):
            if row[key]:
                add(KeptFigure.AGREEMENT, agency_id=agency_id, key=key, n=row[key])
    themes = q.round_learning_themes(round_.id)
    if not themes.empty:
        themes = themes.assign(
            ticked=themes["value"].map(lambda v: [t for t in json.loads(v) if isinstance(t, str)] if v else [])
        )
        themes = themes[themes["ticked"].map(len) > 0]
        scopes: list[tuple[Any, pd.DataFrame]] = [(None, themes)]
        scopes += [(agency_id, rows_) for agency_id, rows_ in themes.groupby("agency_id")]
        for agency_id, scoped in scopes:
            add(
                KeptFigure.THEMES,
                agency_id=agency_id,
                n=scoped["return_id"].nunique(),
                cases=scoped["round_case_id"].nunique(),
            )
            ticks = scoped.explode("ticked")
            for theme, ticked in ticks.groupby("ticked"):
                add(
                    KeptFigure.THEMES,
                    agency_id=agency_id,
                    key=str(theme),
                    n=ticked["return_id"].nunique(),
                    cases=ticked["round_case_id"].nunique(),
                )
    return rows


# -- removing --


def _single_key(table: sa.Table) -> sa.Column[Any] | None:
    key = list(table.primary_key.columns)
    return key[0] if len(key) == 1 else None


def _remove(connection: sa.Connection, table: sa.Table, ids: list[int], removed: dict[str, set[int]]) -> None:
    """Delete rows of ``table`` by id, and first everything that must go with them: rows that cannot be
    without them are removed the same way (their own dependants first); links that may be empty are cleared."""
    if not ids:
        return
    key = _single_key(table)
    assert key is not None
    for other in db.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is not table:
                continue
            column = fk.parent
            if column.nullable:
                connection.execute(sa.update(other).where(column.in_(ids)).values({column.name: None}))
                continue
            other_key = _single_key(other)
            if other_key is None:  # an association table: its rows are only the link
                connection.execute(sa.delete(other).where(column.in_(ids)))
                continue
            child_ids = list(connection.scalars(sa.select(other_key).where(column.in_(ids))))
            _remove(connection, other, child_ids, removed)
    connection.execute(sa.delete(table).where(key.in_(ids)))
    removed.setdefault(table.name, set()).update(ids)


def _referenced(connection: sa.Connection, table: sa.Table, ids: list[int]) -> set[int]:
    """The ids among ``ids`` some row of another table still links to."""
    found: set[int] = set()
    for other in db.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table and ids:
                column = fk.parent
                found |= {i for i in connection.scalars(sa.select(column).where(column.in_(ids))) if i is not None}
    return found


def _scrub_events(connection: sa.Connection, removed: dict[str, set[int]], partnership_id: int) -> int:
    """Empty the values of the removed rows' audit events (kept: who, when, what kind of record, which action)."""
    events = AuditEvent.__table__
    names = {mapper.local_table.name: mapper.class_.__name__ for mapper in db.Model.registry.mappers}
    conditions = [
        sa.and_(events.c.entity_type == names[table], events.c.entity_id.in_(sorted(ids)))
        for table, ids in removed.items()
        if table in names and ids
    ]
    if not conditions:
        return 0
    which = sa.or_(*conditions)
    # the round's partnership's permit (which also covers events recorded without a partnership), and one for
    # each partnership holding a copy of an event (an agency serving several sees its changes in each)
    partnerships = set(connection.scalars(sa.select(events.c.partnership_id).where(which).distinct()))
    with ExitStack() as stack:
        permitted = connection
        for permit_for in sorted({partnership_id, *(p for p in partnerships if p is not None)}):
            permitted = stack.enter_context(permit_redaction(permit_for))
        result = permitted.execute(sa.update(events).where(which).values(before=None, after=REMOVED_VALUES))
    return result.rowcount or 0


@dataclass
class Purged:
    """One round's purge, once committed: its record, and the file contents to delete from the store."""

    record: RoundPurge
    sha256s: set[str] = field(default_factory=set)


def purge_round(round_: Round, months: int) -> Purged:
    """Remove a reported round's case-level records, keeping its counts (see the module's docstring). Flushes;
    the caller commits, then calls :func:`remove_file_contents`."""
    if round_.status != RoundStatus.REPORTED or round_.kind != QuestionnaireKind.CASE_AUDIT:
        raise ValueError("only a reported case audit round's records are removed")
    db.session.flush()
    connection = db.session.connection()
    kept = _keep_counts(round_)
    if kept:
        connection.execute(sa.insert(KeptCount.__table__), kept)
    removed: dict[str, set[int]] = {}
    tables = db.metadata.tables

    return_ids = list(connection.scalars(sa.select(Return.id).where(Return.round_id == round_.id)))
    round_case_ids = list(connection.scalars(sa.select(RoundCase.id).where(RoundCase.round_id == round_.id)))
    case_ids = list(connection.scalars(sa.select(RoundCase.case_id).where(RoundCase.round_id == round_.id)))
    evidence = tables["criterion_evidence"]
    file_ids = set(
        connection.scalars(
            sa.select(evidence.c.stored_file_id).where(
                evidence.c.return_id.in_(return_ids), evidence.c.stored_file_id.is_not(None)
            )
        )
    )
    file_ids |= set(
        connection.scalars(
            sa.select(ReportFile.stored_file_id).where(
                ReportFile.round_id == round_.id, ReportFile.stored_file_id.is_not(None)
            )
        )
    )
    report_ids = list(connection.scalars(sa.select(ReportFile.id).where(ReportFile.round_id == round_.id)))

    _remove(connection, ReportFile.__table__, report_ids, removed)
    _remove(connection, Return.__table__, return_ids, removed)
    judgement_ids = list(
        connection.scalars(sa.select(CaseJudgement.id).where(CaseJudgement.round_case_id.in_(round_case_ids)))
    )
    _remove(connection, CaseJudgement.__table__, judgement_ids, removed)
    _remove(connection, RoundCase.__table__, round_case_ids, removed)
    still_held = set(connection.scalars(sa.select(RoundCase.case_id).where(RoundCase.case_id.in_(case_ids))))
    _remove(connection, Case.__table__, sorted(set(case_ids) - still_held), removed)
    candidates = sorted(file_ids)
    files = StoredFile.__table__
    unlinked = sorted(set(candidates) - _referenced(connection, files, candidates))
    sha256s = set(connection.scalars(sa.select(files.c.sha256).where(files.c.id.in_(unlinked))))
    _remove(connection, files, unlinked, removed)
    _scrub_events(connection, removed, round_.partnership_id)

    counts = {kind: len(removed.get(kind, ())) for kind in REMOVED_KINDS}
    record = RoundPurge(
        round_id=round_.id,
        partnership_id=round_.partnership_id,
        retention_months=months,
        reported_at=round_.reported_at,
        removed=counts,
        actor_label=acting_label(),
    )
    db.session.add(record)
    record_event(
        "round",
        round_.id,
        AuditAction.UPDATE,
        partnership_id=round_.partnership_id,
        after={"case_records_removed": describe(counts), "retention_months": months},
    )
    db.session.flush()
    db.session.expire_all()
    return Purged(record, sha256s)


def remove_file_contents(sha256s: Iterable[str]) -> int:
    """After the purge has committed: delete the removed files' content no row names any more."""
    return sum(1 for sha256 in sorted(sha256s) if remove_if_unreferenced(sha256))


@dataclass
class Run:
    """What one ``flask purge`` found and did."""

    today: date
    applied: bool
    due: list[Due]
    purged: list[RoundPurge] = field(default_factory=list)
    files_deleted: int = 0


def run_purge(today: date, *, apply: bool, partnership_id: int | None = None) -> Run:
    """Find the rounds due (and, with ``apply``, purge each in its own transaction, committing each)."""
    due = due_rounds(today, partnership_id)
    run = Run(today, apply, due)
    if not apply:
        return run
    for item in due:
        # one purge of a round at a time: a second run waits here, then finds it done
        db.session.execute(sa.select(Round.id).where(Round.id == item.round.id).with_for_update())
        if purge_of(item.round.id) is not None:
            db.session.rollback()
            continue
        purged = purge_round(item.round, item.months)
        db.session.commit()
        run.purged.append(purged.record)
        run.files_deleted += remove_file_contents(purged.sha256s)
    return run


def round_retention(round_: Round) -> str:
    """What becomes of a case audit round's case records, in words, for its page ("" before it is reported)."""
    record = purge_of(round_.id)
    if record is not None:
        return (
            f"Removed on {when(record.purged_at)}, at the end of the partnership's {record.retention_months}-month "
            f"retention period ({describe(record.removed)}). The round's figures are kept."
        )
    if round_.status != RoundStatus.REPORTED:
        return ""
    months = db.session.scalar(sa.select(Partnership.retention_months).where(Partnership.id == round_.partnership_id))
    if months is None:
        return "Kept: the partnership has not set a retention period."
    due_on = purge_due_on(round_, months)
    if due_on is None:
        return f"Kept for {months} months after the round was reported."
    return f"Kept until {due_on.strftime('%-d %B %Y')} ({months} months after the round was reported), then removed."


@dataclass
class Held:
    """A reported round still holding case records, and when they go."""

    round: Round
    reported_on: date | None
    due_on: date | None
    counts: dict[str, int]

    def due(self, today: date) -> bool:
        return self.due_on is not None and self.due_on <= today


#: how far ahead admins' home page warns of case records going
WARN_DAYS = 30


def due_soon(partnership_id: int, today: date, within_days: int = WARN_DAYS) -> list[tuple[Round, date]]:
    """The partnership's reported case audit rounds whose case records go within ``within_days`` (or are due
    now), soonest first: (round, first day of removal). One query; nothing counted."""
    months = db.session.scalar(sa.select(Partnership.retention_months).where(Partnership.id == partnership_id))
    if months is None:
        return []
    rounds = db.session.scalars(
        sa.select(Round)
        .where(
            Round.partnership_id == partnership_id,
            Round.kind == QuestionnaireKind.CASE_AUDIT,
            Round.status == RoundStatus.REPORTED,
            Round.reported_at.is_not(None),
            ~sa.select(RoundPurge.id).where(RoundPurge.round_id == Round.id).exists(),
        )
        .order_by(Round.reported_at, Round.id)
    ).all()
    horizon = today + timedelta(days=within_days)
    soon = [(r, due_on) for r in rounds if (due_on := purge_due_on(r, months)) is not None and due_on <= horizon]
    return soon


def held_rounds(partnership_id: int) -> list[Held]:
    """The partnership's reported case audit rounds not purged, with when each one's records go (none without a
    period), soonest first."""
    months = db.session.scalar(sa.select(Partnership.retention_months).where(Partnership.id == partnership_id))
    rounds = db.session.scalars(
        sa.select(Round)
        .where(
            Round.partnership_id == partnership_id,
            Round.kind == QuestionnaireKind.CASE_AUDIT,
            Round.status == RoundStatus.REPORTED,
            ~sa.select(RoundPurge.id).where(RoundPurge.round_id == Round.id).exists(),
        )
        .order_by(Round.reported_at, Round.id)
    ).all()
    return [Held(r, reported_on(r), None if months is None else purge_due_on(r, months), _held(r.id)) for r in rounds]


def purges(partnership_id: int) -> list[RoundPurge]:
    """The partnership's purges, latest first."""
    return list(
        db.session.scalars(
            sa.select(RoundPurge)
            .where(RoundPurge.partnership_id == partnership_id)
            .order_by(RoundPurge.purged_at.desc(), RoundPurge.id.desc())
        )
    )


def purge_of(round_id: int) -> RoundPurge | None:
    return db.session.scalar(sa.select(RoundPurge).where(RoundPurge.round_id == round_id))


def when(value: datetime | None) -> str:
    """A purge's or report's time as pages show it ("3 March 2026")."""
    return "" if value is None else value.astimezone(clock.LONDON).strftime("%-d %B %Y")
