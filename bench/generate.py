"""Realistic synthetic data for the findings benchmark, in the application's real schema.

Four sizes (see bench/README.md):

* ``smoke``: the ``round`` partnership plus the ten-year partnership cut to its last two years and
  fewer cases a round (about 25,000 answers, a few seconds on SQLite), for CI's ``make bench-smoke``;
* ``round``: one partnership with one reported round of 25 cases, 10 agencies and a
  40-question questionnaire (about 10,000 answers);
* ``partnership``: the ``round`` partnership plus one partnership with ten years of case
  audits on four themes (at least 200,000 answers);
* ``region``: the ``round`` partnership plus as many ten-year partnerships as it takes to pass
  5,000,000 answers, sharing police forces, Integrated Care Boards and the probation service
  (PostgreSQL only).

Every database is built by the application's own Alembic migrations, then filled with
SQLAlchemy Core bulk inserts (SQLite) or ``COPY`` (PostgreSQL). Rows carry explicit ids, so a
load is one pass with no round trips. Core inserts and ``COPY`` skip the ORM audit-trail hook,
which is fine for synthetic data.

A finished load writes a ``bench_meta`` row holding the generator version and what was built
(partnership, round, theme and user ids, row counts, how long it took). A database whose
``bench_meta`` matches :data:`GENERATOR_VERSION` and the size is reused; ``--fresh`` rebuilds.

Usage::

    .venv/bin/python bench/generate.py smoke --backend sqlite [--fresh]
    .venv/bin/python bench/generate.py partnership --backend sqlite [--fresh]
    .venv/bin/python bench/generate.py region --backend postgresql
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit_app import create_app  # noqa: E402  (after the path is set, when run as a script)
from audit_app.accounts.models import Role, name_key  # noqa: E402
from audit_app.accounts.services import DEFAULT_SECTORS  # noqa: E402
from audit_app.extensions import db  # noqa: E402
from audit_app.questionnaires.models import QuestionnaireKind, QuestionType, VersionStatus  # noqa: E402
from bench.app_models import ReturnStatus, RoundStatus  # noqa: E402

#: bump whenever the data generated changes, so cached databases are rebuilt
GENERATOR_VERSION = 7
SEED = 20260601
DATA_DIR = ROOT / "bench" / "data"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DATABASES = {
    "smoke": "audit_bench_smoke",
    "round": "audit_bench_round",
    "partnership": "audit_bench_partnership",
    "region": "audit_bench_region",
}
SIZES = ("smoke", "round", "partnership", "region")
MIN_ANSWERS = {"smoke": 5_000, "round": 9_000, "partnership": 200_000, "region": 5_000_000}
#: the last years of history a ``smoke`` partnership keeps (with fewer cases a round)
SMOKE_YEARS, SMOKE_SCALE = 2, 0.4
FIRST_YEAR, LAST_YEAR = 2016, 2025

THEMES = [
    # (theme name, questionnaire key, case reference prefix, how hard cases are, title)
    ("Child sexual exploitation", "cse_case_audit", "CSE", -0.10, "Multi-agency case audit: child sexual exploitation"),
    ("Neglect", "neglect_case_audit", "NEG", -0.20, "Multi-agency case audit: neglect"),
    ("Domestic abuse", "domestic_abuse_case_audit", "DA", 0.0, "Multi-agency case audit: domestic abuse"),
    (
        "Strategy discussions and meetings",
        "strategy_meetings_case_audit",
        "SM",
        0.10,
        "Multi-agency case audit: strategy discussions and meetings",
    ),
]

#: (section key, title, [(question suffix, text)] rated Yes / Partly / No, text question suffix)
SECTIONS: list[tuple[str, str, list[tuple[str, str]], str]] = [
    (
        "recognition",
        "Recognition of risk and need",
        [
            ("indicators", "Were indicators of harm recognised at the earliest opportunity?"),
            ("history", "Was the family's history taken into account?"),
            ("language", "Was the child described in language that does not suggest blame?"),
        ],
        "good_practice",
    ),
    (
        "information_sharing",
        "Information sharing",
        [
            ("timely", "Was information shared with partner agencies in good time?"),
            ("consent", "Were decisions about consent to share recorded and explained?"),
            ("received", "Was information received from partners recorded and acted on?"),
        ],
        "development",
    ),
    (
        "referral",
        "Referral and first response",
        [
            ("timely", "Was the referral made promptly once the concern was known?"),
            ("quality", "Did the referral give a clear account of the concern and the risk?"),
            ("threshold", "Was the threshold decision right and recorded with reasons?"),
        ],
        "good_practice",
    ),
    (
        "assessment",
        "Assessment",
        [
            ("holistic", "Did the assessment consider the child's whole situation?"),
            ("partners", "Did partner agencies contribute to the assessment?"),
            ("reviewed", "Was the assessment updated when circumstances changed?"),
        ],
        "development",
    ),
    (
        "planning",
        "Planning and intervention",
        [
            ("smart", "Was the plan specific about actions, owners and timescales?"),
            ("attended", "Did your agency attend the planning meetings it was invited to?"),
        ],
        "good_practice",
    ),
    (
        "voice",
        "Voice of the child",
        [
            ("seen", "Was the child seen, and seen alone where appropriate?"),
            ("recorded", "Are the child's wishes and feelings recorded in their own words?"),
        ],
        "development",
    ),
    (
        "oversight",
        "Management oversight and supervision",
        [
            ("recorded", "Is management oversight recorded at key decision points?"),
            ("drift", "Did supervision prevent drift and delay?"),
        ],
        "good_practice",
    ),
    (
        "impact",
        "Outcomes and impact for the child",
        [
            ("risk_reduced", "Has the risk to the child reduced?"),
            ("needs_met", "Are the child's needs being met?"),
        ],
        "development",
    ),
]
#: the generator's kinds of question -> the question roles findings read (the rest have none)
QUESTION_ROLES = {
    "grade": "grade",
    "overall": "overall_grade",
    "good_practice": "strengths",
    "strengths": "strengths",
    "development": "development",
    "recommendations": "recommendation",
}

OVERALL_TEXTS = [
    ("strengths", "The main strengths of your agency's work"),
    ("development", "The main areas for development"),
    ("recommendations", "What do you recommend?"),
]

GOOD_PRACTICE = [
    "Risk was recognised at the first contact and recorded clearly.",
    "The worker visited promptly and spoke to the young person alone.",
    "Information was shared with the school and the GP the same day.",
    "Management oversight is recorded at each decision point, with reasons.",
    "The chronology is up to date and shows the pattern of concerns.",
    "The child's own words are quoted in the assessment and the plan.",
    "Professionals challenged each other respectfully and the plan changed as a result.",
    "The health visitor followed up missed appointments the same week.",
    "The school's designated safeguarding lead attended every core group.",
    "The strategy discussion was held within a day and every agency contributed.",
]
DEVELOPMENT = [
    "The child's own words are not recorded in the assessment.",
    "No evidence that the risk assessment was reviewed after new information.",
    "Health were not invited to the strategy discussion.",
    "Supervision notes do not show challenge or a plan to reduce risk.",
    "Drift: the plan was not reviewed for four months.",
    "The referral did not say what the agency was worried would happen to the child.",
    "Fathers and other men in the household were not assessed.",
    "Escalation was discussed but not taken forward when the plan stalled.",
    "Records do not show whether information from the police was received.",
    "Missed health appointments were not followed up or shared.",
]
RECOMMENDATIONS = [
    "Refresh training on recognising harm for front-line staff.",
    "Invite health partners to every strategy discussion.",
    "Record the child's views in their own words at every review.",
    "Audit supervision records for this team in six months.",
    "Use the partnership's escalation procedure when plans drift.",
    "Share the learning from this case in the next practice briefing.",
]
CASE_FACTS = [
    "Return home interviews were offered each time.",
    "Several agencies held part of the picture but nobody had all of it.",
    "The family moved between two local authority areas during the period.",
    "There were three changes of social worker in the audit period.",
    "",
    "",
]
AGE_BANDS = ["Under 1", "1-4", "5-9", "10-14", "15-17", "18-25"]
AGE_WEIGHTS = [6, 10, 14, 30, 34, 6]
SEXES = ["Female", "Male", "Another", "Not known"]
SEX_WEIGHTS = [52, 45, 1, 2]
PLAN_TYPES = ["Early help", "Child in need", "Child protection", "Looked after", "Care leaver", "None", "Not known"]
PLAN_WEIGHTS = [12, 25, 33, 20, 4, 4, 2]
#: 2021 Census category keys (audit_app/case_audits/cohort.py ETHNICITIES); "" is not recorded
ETHNICITIES = [
    "white_british",
    "white_other",
    "black_caribbean",
    "black_african",
    "mixed_white_black_caribbean",
    "asian_pakistani",
    "asian_indian",
    "white_gypsy_traveller",
    "",
]
ETHNICITY_WEIGHTS = [62, 6, 4, 4, 6, 7, 4, 2, 5]
OFSTED = ["Outstanding", "Good", "Requires improvement", "Inadequate"]
YES_PARTLY_NO = ["Yes", "Partly", "No", "Not applicable"]
SEASONS = {1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring", 6: "summer", 7: "summer"}
SEASONS.update({8: "summer", 9: "autumn", 10: "autumn", 11: "autumn", 12: "winter"})
#: partnership-local agencies: (name pattern, sector key, quality, how often involved per theme index)
LOCAL_AGENCIES: list[tuple[str, str, float, tuple[float, float, float, float]]] = [
    ("{place} Council Children's Social Care", "social_care", 0.1, (1.0, 1.0, 1.0, 1.0)),
    ("{place} University Hospitals NHS Trust", "health", 0.3, (0.45, 0.55, 0.6, 0.5)),
    ("{place} Community Health NHS Trust", "health", 0.2, (0.5, 0.75, 0.5, 0.55)),
    ("{place} Mental Health NHS Foundation Trust", "health", -0.2, (0.35, 0.25, 0.35, 0.2)),
    ("{place} Academy Trust", "education", 0.25, (0.6, 0.6, 0.45, 0.5)),
    ("{place} Primary Schools Partnership", "education", 0.35, (0.15, 0.55, 0.4, 0.35)),
    ("{place} Children's Centres", "early_years", 0.4, (0.05, 0.4, 0.25, 0.15)),
    ("{place} Youth Justice Service", "justice", -0.1, (0.45, 0.1, 0.15, 0.2)),
    ("{place} Domestic Abuse Service", "voluntary", 0.2, (0.15, 0.15, 0.8, 0.2)),
    ("{place} Homes", "other", -0.3, (0.1, 0.25, 0.3, 0.1)),
]
#: shared agencies: (kind, sector key, quality, involvement per theme)
SHARED_AGENCIES: dict[str, tuple[str, float, tuple[float, float, float, float]]] = {
    "police": ("police", 0.0, (0.95, 0.6, 0.95, 0.95)),
    "icb": ("health", -0.1, (0.2, 0.45, 0.3, 0.3)),
    "probation": ("justice", -0.25, (0.1, 0.1, 0.5, 0.15)),
}
PLACE_FIRST = ["Bracken", "Calder", "Dun", "Fell", "Grey", "Harrow", "Kings", "Lang", "Marl", "Nether", "Oak", "Pen"]
PLACE_FIRST += ["Raven", "Stone", "Thorn", "Wester", "Ash", "Bel", "Cran", "Dray", "Elder", "Farn", "Glen", "Holl"]
PLACE_LAST = ["field", "mouth", "mere", "hampton", "water", "dale", "ford", "worth", "ton", "by", "stow", "combe"]
REGION = "Northern Marches"


class Sink(Protocol):
    """Where rows go: SQLAlchemy Core bulk inserts or PostgreSQL COPY."""

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int: ...


def _check_columns(table: sa.Table, columns: Sequence[str]) -> None:
    """Refuse to load a table whose required columns this generator does not fill (a new migration)."""
    unknown = set(columns) - set(table.c.keys())
    if unknown:
        raise RuntimeError(f"bench/generate.py writes {table.name}.{sorted(unknown)}, which the models do not have")
    for column in table.c:
        if column.name in columns or column.nullable or column.server_default is not None:
            continue
        raise RuntimeError(
            f"bench/generate.py does not fill {table.name}.{column.name} (NOT NULL, no server default): "
            "update the generator and GENERATOR_VERSION"
        )


class CoreSink:
    """Bulk inserts through SQLAlchemy Core (``conn.execute(table.insert(), rows)``), in chunks."""

    def __init__(self, conn: sa.Connection, chunk: int = 20_000) -> None:
        self.conn = conn
        self.chunk = chunk

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        target = db.metadata.tables[table]
        _check_columns(target, columns)
        count = 0
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= self.chunk:
                self.conn.execute(target.insert(), batch)
                count += len(batch)
                batch = []
        if batch:
            self.conn.execute(target.insert(), batch)
            count += len(batch)
        return count


class CopySink:
    """PostgreSQL ``COPY ... FROM STDIN`` through psycopg, on the connection's own transaction."""

    def __init__(self, conn: sa.Connection) -> None:
        self.raw = conn.connection.dbapi_connection
        self._stamps: dict[Any, str] = {}

    def _plain(self, value: Any) -> Any:
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, datetime):
            text = self._stamps.get(value)
            if text is None:
                text = self._stamps[value] = value.isoformat()
            return text
        if isinstance(value, list):
            return json.dumps(value)
        return value

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        _check_columns(db.metadata.tables[table], columns)
        count = 0
        plain = self._plain
        with self.raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([plain(v) for v in row])
                count += 1
        return count


@dataclass
class Ids:
    """The next id of each table: rows carry explicit ids so loads need no round trips."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next.get(table, 1)
        self.next[table] = value + 1
        return value


@dataclass
class Question:
    id: int
    key: str
    type: QuestionType
    section_key: str
    #: "grade", "overall", "ynp" or a text kind
    role: str


@dataclass
class Version:
    id: int
    number: int
    questions: list[Question]


@dataclass
class Agency:
    id: int
    name: str
    sector_key: str
    quality: float
    involvement: tuple[float, float, float, float]


@dataclass
class PartnershipPlan:
    """One partnership to generate: ``round`` (one round, 25 cases, 10 agencies) or ``history`` (ten years)."""

    kind: str
    place: str
    seed: int
    #: names of the shared police force, ICB and probation service (region), or None for local ones
    shared: dict[str, str] = field(default_factory=dict)
    scale: float = 1.0
    #: the first year of a ``history`` partnership's rounds (the ``smoke`` size keeps only the last two)
    first_year: int = FIRST_YEAR


@dataclass
class Built:
    """What a generated partnership holds, for the benchmark to find."""

    partnership_id: int
    name: str
    kind: str
    qa_user_id: int
    #: the partnership's admin (business manager), and an auditor of children's social care
    admin_user_id: int
    auditor_user_id: int
    auditor_agency_id: int
    auditor_agency: str
    theme_ids: dict[str, int]
    round_ids: list[int]
    answers: int
    returned_answers: int


@dataclass
class Context:
    sink: Sink
    ids: Ids
    levels: dict[str, dict[str, int]]
    scale_ids: dict[str, int]
    created: datetime
    password_hash: str
    shared_agencies: dict[str, Agency] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        written = self.sink.write(table, columns, rows)
        self.counts[table] = self.counts.get(table, 0) + written
        return written


def _at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def _place_names(count: int, rng: random.Random) -> list[str]:
    names: list[str] = []
    firsts = PLACE_FIRST[:]
    rng.shuffle(firsts)
    for i in range(count):
        first = firsts[i % len(firsts)]
        last = PLACE_LAST[(i * 7 + i // len(firsts)) % len(PLACE_LAST)]
        names.append(f"{first}{last}")
    return names


# -- shared rows --


def _agency(ctx: Context, name: str, sector_key: str, quality: float, involvement: tuple[float, ...]) -> Agency:
    agency = Agency(ctx.ids.take("agencies"), name, sector_key, quality, involvement)  # type: ignore[arg-type]
    ctx.write("agencies", ["id", "name", "created_at", "updated_at"], [(agency.id, name, ctx.created, ctx.created)])
    return agency


def _shared_agency(ctx: Context, kind: str, name: str) -> Agency:
    """A police force, ICB or probation service serving several partnerships, created once."""
    if name not in ctx.shared_agencies:
        sector_key, quality, involvement = SHARED_AGENCIES[kind]
        agency = _agency(ctx, name, sector_key, quality, involvement)
        if kind == "icb":
            # ICBs replaced clinical commissioning groups in July 2022: the old name is kept
            old = name.replace("Integrated Care Board", "Clinical Commissioning Group")
            ctx.write(
                "agency_names",
                ["id", "agency_id", "name", "replaced_at"],
                [(ctx.ids.take("agency_names"), agency.id, old, _at(date(2022, 7, 1)))],
            )
        ctx.shared_agencies[name] = agency
    return ctx.shared_agencies[name]


def _questionnaire(
    ctx: Context, partnership_id: int, theme_id: int, theme_index: int, versions: list[tuple[int, date, date | None]]
) -> list[Version]:
    """One case-audit questionnaire with the given versions (number, published, retired), 9 sections and 40
    questions each, question keys stable across versions."""
    name, key, _, _, title = THEMES[theme_index]
    questionnaire_id = ctx.ids.take("questionnaires")
    ctx.write(
        "questionnaires",
        ["id", "partnership_id", "key", "title", "kind", "theme_id", "description", "created_at", "updated_at"],
        [
            (
                questionnaire_id,
                partnership_id,
                key,
                title,
                QuestionnaireKind.CASE_AUDIT,
                theme_id,
                f"For a themed multi-agency case audit ({name.lower()}).",
                ctx.created,
                ctx.created,
            )
        ],
    )
    built: list[Version] = []
    version_rows, section_rows, question_rows = [], [], []
    for number, published, retired in versions:
        version_id = ctx.ids.take("questionnaire_versions")
        status = VersionStatus.RETIRED if retired else VersionStatus.PUBLISHED
        version_rows.append(
            (
                version_id,
                questionnaire_id,
                number,
                status,
                _at(published),
                _at(retired) if retired else None,
                _at(published - timedelta(days=30)),
                _at(retired or published),
            )
        )
        questions: list[Question] = []
        for position, (section_key, section_title, rated, text_kind) in enumerate(
            [*SECTIONS, ("overall", "Overall", [], "")]
        ):
            section_id = ctx.ids.take("sections")
            section_rows.append((section_id, version_id, section_key, position, section_title, ""))
            items: list[tuple[str, str, QuestionType, str | None, bool, str]] = []
            for suffix, text in rated:
                items.append((f"{section_key}_{suffix}", text, QuestionType.SCALE, "yes_partly_no", False, "ynp"))
            if section_key == "overall":
                items.append(
                    (
                        "overall_grade",
                        "Overall grade for your agency's work with this child",
                        QuestionType.SCALE,
                        "ofsted",
                        True,
                        "overall",
                    )
                )
                for kind, text in OVERALL_TEXTS:
                    items.append((f"overall_{kind}", text, QuestionType.TEXT, None, False, kind))
            else:
                items.append(
                    (
                        f"{section_key}_grade",
                        f"Grade for {section_title.lower()}",
                        QuestionType.SCALE,
                        "ofsted",
                        True,
                        "grade",
                    )
                )
                text = (
                    "What good practice did you find?"
                    if text_kind == "good_practice"
                    else "What are the areas for development?"
                )
                items.append((f"{section_key}_{text_kind}", text, QuestionType.TEXT, None, False, text_kind))
            for q_position, (q_key, q_text, q_type, scale, required, role) in enumerate(items):
                question_id = ctx.ids.take("questions")
                if number > 1 and role == "ynp":
                    q_text = q_text.replace("Was ", "Was it clear that ", 1) if q_text.startswith("Was ") else q_text
                question_rows.append(
                    (
                        question_id,
                        version_id,
                        section_id,
                        q_key,
                        q_position,
                        q_text,
                        "",
                        q_type,
                        ctx.scale_ids[scale] if scale else None,
                        required,
                        [],
                        [],
                        None,
                        [],
                        QUESTION_ROLES.get(role),
                    )
                )
                questions.append(Question(question_id, q_key, q_type, section_key, role))
        assert len(questions) == 40, len(questions)
        built.append(Version(version_id, number, questions))
    ctx.write(
        "questionnaire_versions",
        ["id", "questionnaire_id", "number", "status", "published_at", "retired_at", "created_at", "updated_at"],
        version_rows,
    )
    ctx.write("sections", ["id", "version_id", "key", "position", "title", "description"], section_rows)
    ctx.write(
        "questions",
        [
            "id",
            "version_id",
            "section_id",
            "key",
            "position",
            "text",
            "guidance",
            "type",
            "scale_id",
            "is_required",
            "applies_to",
            "options",
            "condition_question_key",
            "condition_values",
            "role",
        ],
        question_rows,
    )
    return built


# -- rounds --


@dataclass
class RoundPlan:
    id: int
    theme_index: int
    theme_id: int
    version: Version
    title: str
    opens_on: date
    status: RoundStatus
    n_cases: int
    previous: RoundPlan | None = None
    #: (round case id, case id, previous round case id, case difficulty, agencies involved)
    cases: list[tuple[int, int, int | None, float, list[Agency]]] = field(default_factory=list)


class Writer:
    """Generates one partnership's rounds, cases, returns, answers and judgements."""

    def __init__(
        self, ctx: Context, rng: random.Random, partnership_id: int, agencies: list[Agency], qa_user_id: int
    ) -> None:
        self.ctx = ctx
        self.rng = rng
        self.partnership_id = partnership_id
        self.agencies = agencies
        self.qa_user_id = qa_user_id
        self.case_rows: list[tuple[Any, ...]] = []
        self.round_rows: list[tuple[Any, ...]] = []
        self.round_case_rows: list[tuple[Any, ...]] = []
        self.rca_rows: list[tuple[Any, ...]] = []
        self.return_rows: list[tuple[Any, ...]] = []
        self.event_rows: list[tuple[Any, ...]] = []
        self.judgement_rows: list[tuple[Any, ...]] = []
        #: (return id, version, mean grade, returned at, complete)
        self.to_answer: list[tuple[int, Version, float, datetime, bool]] = []
        self.answers = 0
        self.returned_answers = 0
        self.references: set[str] = set()
        #: how a closed round's returns ended: accepted, submitted, declined, other template, not started
        self.closed_weights = [88, 3, 5, 1, 3]

    def _reference(self, prefix: str, opens_on: date, n: int) -> str:
        reference = f"{prefix}-{opens_on:%y}{opens_on.month:02d}-{n:03d}"
        assert reference not in self.references
        self.references.add(reference)
        return reference

    def _new_case(self, prefix: str, opens_on: date, n: int) -> tuple[int, float]:
        rng = self.rng
        case_id = self.ctx.ids.take("cases")
        self.case_rows.append(
            (
                case_id,
                self.partnership_id,
                self._reference(prefix, opens_on, n),
                rng.choices(AGE_BANDS, AGE_WEIGHTS)[0],
                rng.choices(SEXES, SEX_WEIGHTS)[0],
                rng.choices(ETHNICITIES, ETHNICITY_WEIGHTS)[0],
                rng.choices(["No", "Yes", "Not known"], [80, 12, 8])[0],
                rng.choices(PLAN_TYPES, PLAN_WEIGHTS)[0],
                _at(opens_on - timedelta(days=20)),
                _at(opens_on - timedelta(days=20)),
            )
        )
        return case_id, rng.uniform(-0.35, 0.35)

    def _involved(self, theme_index: int, everyone: bool) -> list[Agency]:
        if everyone:
            return list(self.agencies)
        rng = self.rng
        involved = [a for a in self.agencies if rng.random() < a.involvement[theme_index]]
        while len(involved) < 3:
            extra = rng.choice(self.agencies)
            if extra not in involved:
                involved.append(extra)
        return involved

    def add_round(self, plan: RoundPlan, prefix: str, *, everyone: bool = False) -> None:
        """The round, its cases (some carried from the round it re-audits), returns and judgements."""
        rng = self.rng
        created = _at(plan.opens_on - timedelta(days=rng.randint(20, 45)))
        due_on = plan.opens_on + timedelta(days=42)
        closed = plan.status in (RoundStatus.CLOSED, RoundStatus.IN_DISCUSSION, RoundStatus.REPORTED)
        updated = _at(due_on + timedelta(days=40)) if closed else created
        self.round_rows.append(
            (
                plan.id,
                self.partnership_id,
                plan.version.id,
                QuestionnaireKind.CASE_AUDIT,
                plan.title,
                plan.theme_id,
                plan.status,
                plan.opens_on,
                due_on,
                plan.previous.id if plan.previous else None,
                rng.random() < 0.6,
                3,
                2,
                created,
                updated,
            )
        )
        carried: list[tuple[int, int, float]] = []
        if plan.previous is not None:
            previous = plan.previous.cases
            keep = rng.sample(previous, k=max(1, int(len(previous) * rng.uniform(0.5, 1.0))))
            carried = [(case_id, rc_id, difficulty) for rc_id, case_id, _, difficulty, _ in keep]
        for n in range(plan.n_cases):
            round_case_id = self.ctx.ids.take("round_cases")
            if n < len(carried):
                case_id, previous_rc, difficulty = carried[n]
                difficulty += 0.25  # re-audited cases have had the learning applied
            else:
                case_id, difficulty = self._new_case(prefix, plan.opens_on, n + 1)
                previous_rc = None
            agencies = self._involved(plan.theme_index, everyone)
            plan.cases.append((round_case_id, case_id, previous_rc, difficulty, agencies))
            self.round_case_rows.append((round_case_id, plan.id, case_id, previous_rc, created, created))
            self.rca_rows.extend((round_case_id, agency.id) for agency in agencies)
        theme_shift = THEMES[plan.theme_index][3]
        year_shift = 0.05 * (plan.opens_on.year - FIRST_YEAR)
        for round_case_id, _, _, difficulty, agencies in plan.cases:
            case_mean = 2.45 + theme_shift + year_shift + difficulty
            for agency in agencies:
                self._return(plan, round_case_id, agency, case_mean + 0.35 * agency.quality, due_on)
            if plan.status in (RoundStatus.IN_DISCUSSION, RoundStatus.REPORTED):
                self._judgements(
                    round_case_id,
                    case_mean,
                    due_on,
                    overall_only=plan.status == RoundStatus.IN_DISCUSSION and rng.random() < 0.5,
                )

    def _status(self, plan: RoundPlan) -> ReturnStatus:
        rng = self.rng
        if plan.status == RoundStatus.OPEN:
            statuses = [
                ReturnStatus.NOT_STARTED,
                ReturnStatus.IN_PROGRESS,
                ReturnStatus.READY_FOR_SIGN_OFF,
                ReturnStatus.SUBMITTED,
                ReturnStatus.CHANGES_REQUESTED,
                ReturnStatus.ACCEPTED,
                ReturnStatus.DECLINED,
            ]
            return rng.choices(statuses, [18, 24, 8, 22, 5, 20, 3])[0]
        statuses = [
            ReturnStatus.ACCEPTED,
            ReturnStatus.SUBMITTED,
            ReturnStatus.DECLINED,
            ReturnStatus.ALTERNATIVE_TEMPLATE,
            ReturnStatus.NOT_STARTED,
        ]
        return rng.choices(statuses, self.closed_weights)[0]

    def _return(self, plan: RoundPlan, round_case_id: int, agency: Agency, mean: float, due_on: date) -> None:
        rng = self.rng
        status = self._status(plan)
        return_id = self.ctx.ids.take("returns")
        opened = _at(plan.opens_on, 9)
        started = opened + timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 7))
        submitted = started + timedelta(days=rng.randint(0, 14), hours=rng.randint(0, 5))
        reviewed = submitted + timedelta(days=rng.randint(1, 10))
        note = ""
        path: list[tuple[ReturnStatus, datetime]] = []
        if status == ReturnStatus.DECLINED:
            note = "No record of involvement with this child in the audit period."
            path = [(ReturnStatus.DECLINED, started)]
        elif status == ReturnStatus.ALTERNATIVE_TEMPLATE:
            note = "Submitted on the agency's own single-agency audit template."
            path = [(ReturnStatus.ALTERNATIVE_TEMPLATE, submitted)]
        elif status != ReturnStatus.NOT_STARTED:
            path = [(ReturnStatus.IN_PROGRESS, started)]
            if status == ReturnStatus.READY_FOR_SIGN_OFF:
                path.append((ReturnStatus.READY_FOR_SIGN_OFF, submitted))
            if status in (ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED, ReturnStatus.CHANGES_REQUESTED):
                path.append((ReturnStatus.SUBMITTED, submitted))
            if status == ReturnStatus.CHANGES_REQUESTED:
                note = "Please add the date of the strategy discussion and who attended."
                path.append((ReturnStatus.CHANGES_REQUESTED, reviewed))
            if status == ReturnStatus.ACCEPTED:
                path.append((ReturnStatus.ACCEPTED, reviewed))
        updated = path[-1][1] if path else opened
        is_submitted = status in (ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED)
        self.return_rows.append(
            (
                return_id,
                plan.id,
                agency.id,
                round_case_id,
                status,
                1 + len(path),
                submitted if is_submitted else None,
                None,
                note,
                opened,
                updated,
            )
        )
        previous = ReturnStatus.NOT_STARTED
        for to_status, when in path:
            actor = self.qa_user_id if to_status in (ReturnStatus.ACCEPTED, ReturnStatus.CHANGES_REQUESTED) else None
            self.event_rows.append(
                (self.ctx.ids.take("return_events"), return_id, when, actor, previous, to_status, "")
            )
            previous = to_status
        if status in (ReturnStatus.NOT_STARTED, ReturnStatus.DECLINED, ReturnStatus.ALTERNATIVE_TEMPLATE):
            return
        complete = status != ReturnStatus.IN_PROGRESS
        self.to_answer.append((return_id, plan.version, mean, updated, complete))

    def _judgements(self, round_case_id: int, mean: float, due_on: date, *, overall_only: bool) -> None:
        rng = self.rng
        when = _at(due_on + timedelta(days=rng.randint(10, 30)), 14)
        levels = self.ctx.levels["ofsted"]
        grades = []
        sections = [] if overall_only else SECTIONS
        for section_key, _, _, _ in sections:
            latent = rng.gauss(mean - 0.15, 0.6)
            grades.append(latent)
            level = None if rng.random() < 0.04 else levels[_ofsted(latent)]
            self.judgement_rows.append(
                (
                    self.ctx.ids.take("case_judgements"),
                    round_case_id,
                    section_key,
                    level,
                    rng.choice(GOOD_PRACTICE) if rng.random() < 0.8 else "",
                    rng.choice(DEVELOPMENT) if rng.random() < 0.8 else "",
                    False,
                    "",
                    None,
                    when,
                    when,
                )
            )
        overall = (sum(grades) / len(grades) if grades else rng.gauss(mean - 0.15, 0.6)) + rng.gauss(0, 0.2)
        escalated = rng.random() < 0.03
        self.judgement_rows.append(
            (
                self.ctx.ids.take("case_judgements"),
                round_case_id,
                "",
                levels[_ofsted(overall)],
                rng.choice(GOOD_PRACTICE),
                rng.choice(DEVELOPMENT),
                escalated,
                "MASH team manager" if escalated else "",
                (due_on + timedelta(days=12)) if escalated else None,
                when,
                when,
            )
        )

    def answer_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every answer of every started return: scale answers with their level, text answers with text."""
        rng = self.rng
        ofsted = self.ctx.levels["ofsted"]
        ynp = self.ctx.levels["yes_partly_no"]
        for return_id, version, mean, when, complete in self.to_answer:
            questions = version.questions if complete else version.questions[: rng.randint(4, 20)]
            section_latent: dict[str, float] = {}
            for question in questions:
                level_id: int | None = None
                if question.role == "ynp":
                    if rng.random() < 0.07:
                        label = "Not applicable"
                    else:
                        latent = rng.gauss(mean + 0.1, 0.75)
                        label = "Yes" if latent >= 2.75 else "Partly" if latent >= 1.9 else "No"
                    level_id = ynp[label]
                elif question.role == "grade":
                    latent = rng.gauss(mean, 0.7)
                    section_latent[question.section_key] = latent
                    label = _ofsted(latent)
                    level_id = ofsted[label]
                elif question.role == "overall":
                    given = list(section_latent.values())
                    latent = (sum(given) / len(given) if given else rng.gauss(mean, 0.7)) + rng.gauss(0, 0.25)
                    label = _ofsted(latent)
                    level_id = ofsted[label]
                else:
                    if rng.random() < 0.06:
                        continue  # left blank: blank answers are not stored
                    pool = (
                        GOOD_PRACTICE
                        if question.role in ("good_practice", "strengths")
                        else RECOMMENDATIONS
                        if question.role == "recommendations"
                        else DEVELOPMENT
                    )
                    label = rng.choice(pool)
                    if rng.random() < 0.5:
                        label = f"{label} {rng.choice(CASE_FACTS)}".strip()
                # the value column holds a scale answer's label, or the text written
                yield (self.ctx.ids.take("answers"), return_id, question.id, level_id, label, None, "", when, when)

    def flush(self, returned_ids: set[int]) -> None:
        """Write everything generated, parents first."""
        write = self.ctx.write
        write(
            "cases",
            [
                "id",
                "partnership_id",
                "reference",
                "age_band",
                "sex",
                "ethnicity",
                "disability",
                "plan_type",
                "created_at",
                "updated_at",
            ],
            self.case_rows,
        )
        write(
            "rounds",
            [
                "id",
                "partnership_id",
                "questionnaire_version_id",
                "kind",
                "title",
                "theme_id",
                "status",
                "opens_on",
                "due_on",
                "previous_round_id",
                "shares_answers_in_discussion",
                "remind_days_before",
                "remind_days_after",
                "created_at",
                "updated_at",
            ],
            self.round_rows,
        )
        # every round counts for the partnership that planned it (the engine scopes rounds through this link)
        write("round_partnerships", ["round_id", "partnership_id"], [(row[0], row[1]) for row in self.round_rows])
        write(
            "round_cases",
            ["id", "round_id", "case_id", "previous_round_case_id", "created_at", "updated_at"],
            self.round_case_rows,
        )
        write("round_case_agencies", ["round_case_id", "agency_id"], self.rca_rows)
        write(
            "returns",
            [
                "id",
                "round_id",
                "agency_id",
                "round_case_id",
                "status",
                "lock_version",
                "submitted_at",
                "submitted_by_id",
                "note",
                "created_at",
                "updated_at",
            ],
            self.return_rows,
        )
        write(
            "return_events",
            ["id", "return_id", "occurred_at", "actor_id", "from_status", "to_status", "note"],
            self.event_rows,
        )

        def counted(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
            for row in rows:
                self.answers += 1
                if row[1] in returned_ids:
                    self.returned_answers += 1
                yield row

        write(
            "answers",
            [
                "id",
                "return_id",
                "question_id",
                "scale_level_id",
                "value",
                "moderated_level_id",
                "moderation_note",
                "created_at",
                "updated_at",
            ],
            counted(self.answer_rows()),
        )
        write(
            "case_judgements",
            [
                "id",
                "round_case_id",
                "section_key",
                "grade_level_id",
                "strengths",
                "areas_for_development",
                "concern_escalated",
                "escalated_to",
                "escalated_on",
                "created_at",
                "updated_at",
            ],
            self.judgement_rows,
        )


def _ofsted(latent: float) -> str:
    if latent >= 3.45:
        return "Outstanding"
    if latent >= 2.5:
        return "Good"
    if latent >= 1.6:
        return "Requires improvement"
    return "Inadequate"


# -- partnerships --


def build_partnership(ctx: Context, plan: PartnershipPlan) -> Built:
    """One partnership: sectors, agencies, a QA member and an admin, themes, questionnaires and rounds."""
    rng = random.Random(plan.seed)
    place = plan.place
    name = f"{place} Safeguarding Children Partnership"
    partnership_id = ctx.ids.take("partnerships")
    ctx.write(
        "partnerships",
        ["id", "name", "qa_group_name", "auditors_can_submit", "created_at", "updated_at"],
        [(partnership_id, name, "Quality assurance and learning subgroup", False, ctx.created, ctx.created)],
    )
    sector_ids = {}
    rows = []
    for key, label in DEFAULT_SECTORS:
        sector_ids[key] = ctx.ids.take("sectors")
        rows.append((sector_ids[key], partnership_id, key, label, name_key(label), ctx.created, ctx.created))
    ctx.write("sectors", ["id", "partnership_id", "key", "name", "name_key", "created_at", "updated_at"], rows)

    # Agencies: the shared ones (one police force, ICB and probation service for several partnerships)
    # and the local ones. The round partnership has exactly 10.
    shared = {
        "police": plan.shared.get("police", f"{place} Police"),
        "icb": plan.shared.get("icb", f"{place} Integrated Care Board"),
        "probation": plan.shared.get("probation", f"Probation Service, {place} Delivery Unit"),
    }
    agencies = [_shared_agency(ctx, kind, agency_name) for kind, agency_name in shared.items()]
    locals_ = (
        LOCAL_AGENCIES
        if plan.kind == "history"
        else [a for a in LOCAL_AGENCIES if a[1] not in ("other", "early_years", "justice")]
    )
    for pattern, sector_key, quality, involvement in locals_:
        agencies.append(
            _agency(ctx, pattern.format(place=place), sector_key, quality + rng.uniform(-0.2, 0.2), involvement)
        )
    if plan.kind == "round":
        agencies = agencies[:10]
        assert len(agencies) == 10
    ctx.write(
        "partnership_agencies",
        ["id", "partnership_id", "agency_id", "sector_id", "agency_name_key", "is_active", "created_at", "updated_at"],
        [
            (
                ctx.ids.take("partnership_agencies"),
                partnership_id,
                a.id,
                sector_ids[a.sector_key],
                name_key(a.name),
                True,
                ctx.created,
                ctx.created,
            )
            for a in agencies
        ],
    )

    # People: a QA group member (whose session requests the findings page), an admin, and an auditor of
    # children's social care (on every case of every theme), whose sessions request My returns and returns
    slug = _slug(place)
    qa_user_id, admin_id, auditor_id = ctx.ids.take("users"), ctx.ids.take("users"), ctx.ids.take("users")
    audited = next(a for a in agencies if a.sector_key == "social_care")
    ctx.write(
        "users",
        [
            "id",
            "email",
            "name",
            "password_hash",
            "is_active",
            "last_login_at",
            "session_version",
            "created_at",
            "updated_at",
        ],
        [
            (
                qa_user_id,
                f"qa@{slug}.example.org",
                f"{place} QA member",
                ctx.password_hash,
                True,
                None,
                1,
                ctx.created,
                ctx.created,
            ),
            (
                admin_id,
                f"admin@{slug}.example.org",
                f"{place} business manager",
                ctx.password_hash,
                True,
                None,
                1,
                ctx.created,
                ctx.created,
            ),
            (
                auditor_id,
                f"auditor@{slug}.example.org",
                f"{place} social care auditor",
                ctx.password_hash,
                True,
                None,
                1,
                ctx.created,
                ctx.created,
            ),
        ],
    )
    ctx.write(
        "memberships",
        ["id", "user_id", "partnership_id", "agency_id", "role", "created_at", "updated_at"],
        [
            (ctx.ids.take("memberships"), qa_user_id, partnership_id, None, Role.QA_MEMBER, ctx.created, ctx.created),
            (ctx.ids.take("memberships"), admin_id, partnership_id, None, Role.ADMIN, ctx.created, ctx.created),
            (
                ctx.ids.take("memberships"),
                auditor_id,
                partnership_id,
                audited.id,
                Role.AUDITOR,
                ctx.created,
                ctx.created,
            ),
        ],
    )

    themes = THEMES if plan.kind == "history" else THEMES[:1]
    theme_ids = {}
    for theme_name, *_ in themes:
        theme_ids[theme_name] = ctx.ids.take("themes")
    ctx.write(
        "themes",
        ["id", "partnership_id", "name", "created_at", "updated_at"],
        [
            (theme_id, partnership_id, theme_name, ctx.created, ctx.created)
            for theme_name, theme_id in theme_ids.items()
        ],
    )
    writer = Writer(ctx, rng, partnership_id, agencies, qa_user_id)
    round_ids: list[int] = []
    if plan.kind == "round":
        writer.closed_weights = [94, 3, 2, 0, 1]  # a well-run recent round: nearly every return in
        (version,) = _questionnaire(ctx, partnership_id, theme_ids[THEMES[0][0]], 0, [(1, date(2024, 9, 1), None)])
        round_plan = RoundPlan(
            ctx.ids.take("rounds"),
            0,
            theme_ids[THEMES[0][0]],
            version,
            "CSE multi-agency case audit, autumn 2025",
            date(2025, 9, 8),
            RoundStatus.REPORTED,
            25,
        )
        writer.add_round(round_plan, "CSE", everyone=True)
        round_ids.append(round_plan.id)
    else:
        # Version 1 from the start; version 2 (same keys, reworded) from 2021, retiring version 1
        switch = date(2021, 1, 4)
        for theme_index, (theme_name, _, prefix, _, _) in enumerate(THEMES):
            v1, v2 = _questionnaire(
                ctx,
                partnership_id,
                theme_ids[theme_name],
                theme_index,
                [(1, date(FIRST_YEAR - 1, 11, 2), switch), (2, switch, None)],
            )
            previous: RoundPlan | None = None
            for year in range(plan.first_year, LAST_YEAR + 1):
                months = sorted(rng.sample([1, 3, 5, 6, 9, 10, 11], rng.randint(2, 4)))
                for month in months:
                    opens_on = date(year, month, rng.randint(1, 20))
                    reaudit = previous is not None and rng.random() < 0.2
                    if opens_on >= date(2025, 11, 1):
                        status = RoundStatus.OPEN
                    elif opens_on >= date(2025, 9, 1):
                        status = RoundStatus.IN_DISCUSSION
                    else:
                        status = RoundStatus.REPORTED
                    kind = "re-audit" if reaudit else "multi-agency case audit"
                    title = f"{theme_name} {kind}, {SEASONS[month]} {year}"
                    n_cases = max(4, round(rng.randint(6, 13) * plan.scale))
                    round_plan = RoundPlan(
                        ctx.ids.take("rounds"),
                        theme_index,
                        theme_ids[theme_name],
                        v2 if opens_on >= switch else v1,
                        title,
                        opens_on,
                        status,
                        n_cases,
                        previous=previous if reaudit else None,
                    )
                    writer.add_round(round_plan, prefix)
                    round_ids.append(round_plan.id)
                    previous = round_plan
    returned = {row[0] for row in writer.return_rows if row[4] in (ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED)}
    writer.flush(returned)
    return Built(
        partnership_id,
        name,
        plan.kind,
        qa_user_id,
        admin_id,
        auditor_id,
        audited.id,
        audited.name,
        theme_ids,
        round_ids,
        writer.answers,
        writer.returned_answers,
    )


def plans(size: str) -> Iterator[PartnershipPlan]:
    """The partnerships of a size, in order; the region's list is open-ended (stop at enough answers)."""
    rng = random.Random(SEED)
    yield PartnershipPlan("round", "Roundshire", SEED + 1)
    if size == "round":
        return
    if size == "partnership":
        yield PartnershipPlan("history", "Northshire", SEED + 2)
        return
    if size == "smoke":
        yield PartnershipPlan(
            "history", "Northshire", SEED + 2, scale=SMOKE_SCALE, first_year=LAST_YEAR - SMOKE_YEARS + 1
        )
        return
    places = _place_names(len(PLACE_FIRST) * 2, rng)
    for n, place in enumerate(places):
        force = places[(n // 4) * 4]
        icb_group = places[(n // 3) * 3 : (n // 3) * 3 + 3]
        yield PartnershipPlan(
            "history",
            place,
            SEED + 100 + n,
            shared={
                "police": f"{force} Constabulary",
                "icb": f"{', '.join(icb_group[:-1])} and {icb_group[-1]} Integrated Care Board"
                if len(icb_group) > 1
                else f"{place} Integrated Care Board",
                "probation": f"Probation Service, {REGION} region",
            },
            scale=rng.uniform(0.85, 1.2),
        )


# -- databases --


@dataclass
class Target:
    """A benchmark database: its SQLAlchemy URL, backend and size."""

    size: str
    backend: str
    url: str

    @property
    def label(self) -> str:
        return f"{self.size} ({'SQLite' if self.backend == 'sqlite' else 'PostgreSQL'})"


def pg_server_url() -> sa.URL:
    """The PostgreSQL server to use (``BENCH_PG_URL``), as a URL on its ``postgres`` database."""
    raw = os.environ.get("BENCH_PG_URL", DEFAULT_PG_SERVER)
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    return sa.make_url(raw).set(database="postgres")


def target(size: str, backend: str) -> Target:
    """Where a size lives on a backend."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}")
    if backend == "sqlite":
        if size == "region":
            raise ValueError("the region size is generated on PostgreSQL only")
        return Target(size, backend, f"sqlite:///{DATA_DIR / f'{size}.sqlite'}")
    url = pg_server_url().set(database=PG_DATABASES[size])
    return Target(size, backend, url.render_as_string(hide_password=False))


def pg_available(timeout: int = 3) -> str | None:
    """None if the PostgreSQL server answers, else why not."""
    import psycopg

    url = pg_server_url()
    try:
        with psycopg.connect(_libpq(url), connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def bench_app(url: str, **overrides: Any) -> Any:
    """The application on a benchmark database: development settings, CSRF off for the test client."""
    import logging

    # Generating millions of rows runs statements far longer than a request's timeout allows.
    app = create_app(
        "development",
        SQLALCHEMY_DATABASE_URI=url,
        WTF_CSRF_ENABLED=False,
        DB_STATEMENT_TIMEOUT_MS=0,
        DB_LOCK_TIMEOUT_MS=0,
        **overrides,
    )
    for name in ("alembic", "flask_migrate", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return app


def read_meta(url: str) -> dict[str, Any] | None:
    """The ``bench_meta`` of a database, or None if it has none (or does not exist)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("bench_meta"):
                return None
            value = conn.execute(sa.text("SELECT value FROM bench_meta WHERE key = 'meta'")).scalar()
            return json.loads(value) if value else None
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()


def _reset(tgt: Target) -> None:
    """Start from no database at all."""
    if tgt.backend == "sqlite":
        path = Path(sa.make_url(tgt.url).database or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        for extra in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
        return
    import psycopg

    name = sa.make_url(tgt.url).database
    with psycopg.connect(_libpq(pg_server_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _upgrade(url: str) -> None:
    from flask_migrate import upgrade

    app = bench_app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()


def _password_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("bench-password-not-secret")


def ensure(size: str, backend: str, *, fresh: bool = False, log: Any = print) -> dict[str, Any]:
    """The benchmark database of ``size`` on ``backend``, generated unless a current one exists; its meta."""
    tgt = target(size, backend)
    if not fresh:
        meta = read_meta(tgt.url)
        if meta and meta.get("generator_version") == GENERATOR_VERSION and meta.get("size") == size:
            log(
                f"  {tgt.label}: reusing the database generated on {meta['generated_at']} ({meta['answers']:,} answers)"
            )
            _upgrade(tgt.url)  # any migration added since, on the data already there
            meta["reused"] = True
            return meta
    log(f"  {tgt.label}: generating (seed {SEED}, generator version {GENERATOR_VERSION})...")
    started = time.perf_counter()
    _reset(tgt)
    _upgrade(tgt.url)
    migrated = time.perf_counter()
    meta = _generate(tgt, log)
    loaded = time.perf_counter()
    if backend == "postgresql":
        import psycopg

        log("    VACUUM ANALYZE (what autovacuum would do on a live database)...")
        with psycopg.connect(_libpq(sa.make_url(tgt.url)), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    finished = time.perf_counter()
    meta.update(
        seconds={
            "migrate": round(migrated - started, 1),
            "load": round(loaded - migrated, 1),
            "vacuum_analyze": round(finished - loaded, 1),
            "total": round(finished - started, 1),
        },
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    engine = sa.create_engine(tgt.url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_meta (key VARCHAR(32) PRIMARY KEY, value TEXT NOT NULL)"))
        conn.execute(
            sa.text("INSERT INTO bench_meta (key, value) VALUES ('meta', :value)"), {"value": json.dumps(meta)}
        )
    engine.dispose()
    log(
        f"    done in {meta['seconds']['total']:.0f} s: {meta['answers']:,} answers ({meta['returned_answers']:,} returned)"
    )
    meta["reused"] = False
    return meta


def _generate(tgt: Target, log: Any) -> dict[str, Any]:
    """Fill a migrated, empty database; return its meta."""
    app = bench_app(tgt.url)
    built: list[Built] = []
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if tgt.backend == "sqlite":
                conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
                sink: Sink = CoreSink(conn)
            else:
                # rows are consistent by construction: skip the per-row foreign key triggers while loading
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                sink = CopySink(conn)
            levels: dict[str, dict[str, int]] = {}
            scale_ids: dict[str, int] = {}
            for key in ("ofsted", "yes_partly_no"):
                scale_id = conn.execute(
                    sa.text("SELECT id FROM scales WHERE partnership_id IS NULL AND key = :key"), {"key": key}
                ).scalar_one()
                scale_ids[key] = scale_id
                levels[key] = dict(
                    conn.execute(
                        sa.text("SELECT label, id FROM scale_levels WHERE scale_id = :id"), {"id": scale_id}
                    ).all()
                )
            ids = Ids()
            ids.next["scales"] = conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) + 1 FROM scales")).scalar_one()
            ctx = Context(sink, ids, levels, scale_ids, _at(date(FIRST_YEAR - 1, 9, 1)), _password_hash())
            total = 0
            for plan in plans(tgt.size):
                started = time.perf_counter()
                part = build_partnership(ctx, plan)
                built.append(part)
                total += part.answers
                log(
                    f"    {part.name}: {len(part.round_ids)} rounds, {part.answers:,} answers "
                    f"({time.perf_counter() - started:.1f} s; {total:,} so far)"
                )
                if tgt.size == "region" and total >= MIN_ANSWERS["region"]:
                    break
            if tgt.backend == "postgresql":
                for table in ctx.ids.next:
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608  (our own table names)
                    )
        engine.dispose()
    if total < MIN_ANSWERS[tgt.size]:
        raise RuntimeError(f"{tgt.label}: only {total:,} answers generated, fewer than {MIN_ANSWERS[tgt.size]:,}")
    history = [b for b in built if b.kind == "history"]
    round_part = next(b for b in built if b.kind == "round")
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": SEED,
        "size": tgt.size,
        "backend": tgt.backend,
        "answers": total,
        "returned_answers": sum(b.returned_answers for b in built),
        "rows": row_counts(tgt.url),
        "round": {
            "partnership_id": round_part.partnership_id,
            "partnership": round_part.name,
            "round_id": round_part.round_ids[0],
            "qa_user_id": round_part.qa_user_id,
            **_people(round_part),
            "answers": round_part.answers,
            "returned_answers": round_part.returned_answers,
        },
        "partnerships": [
            {
                "partnership_id": b.partnership_id,
                "name": b.name,
                "qa_user_id": b.qa_user_id,
                **_people(b),
                "theme_ids": b.theme_ids,
                "rounds": len(b.round_ids),
                "answers": b.answers,
                "returned_answers": b.returned_answers,
            }
            for b in history
        ],
    }


def _people(built: Built) -> dict[str, Any]:
    return {
        "admin_user_id": built.admin_user_id,
        "auditor_user_id": built.auditor_user_id,
        "auditor_agency_id": built.auditor_agency_id,
        "auditor_agency": built.auditor_agency,
    }


def row_counts(url: str) -> dict[str, int]:
    """Rows in every application table (the bench's own bookkeeping left out)."""
    engine = sa.create_engine(url)
    counts = {}
    with engine.connect() as conn:
        for name in sorted(sa.inspect(conn).get_table_names()):
            if name in ("bench_meta", "alembic_version"):
                continue
            counts[name] = conn.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()  # noqa: S608  (table names from the schema)
    engine.dispose()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", choices=SIZES)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--fresh", action="store_true", help="regenerate even if a current database exists")
    args = parser.parse_args(argv)
    if args.backend == "postgresql" and (why := pg_available()):
        print(f"PostgreSQL is not reachable: {why}", file=sys.stderr)
        return 1
    meta = ensure(args.size, args.backend, fresh=args.fresh)
    print(json.dumps({k: v for k, v in meta.items() if k != "partnerships"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
