"""The findings benchmark: generate (or reuse) the data, time every measurement, write bench/results.md.

Measured on SQLite and on PostgreSQL (see bench/README.md for what each number means):

* the round findings page (``GET /rounds/<id>/findings`` as a QA member, through the Flask test
  client) and the function behind it, ``findings.round_findings``;
* ``findings.theme_trend`` on ten years of one partnership;
* ``findings.agency_theme`` over every partnership of the region (PostgreSQL; on SQLite over the
  partnership data);
* each of those aggregates against one hand-written SQL GROUP BY giving the same numbers (checked);
* ``exports.answers_xlsx`` of at least 200,000 answers, in a subprocess, for time and peak RSS.

Usage: ``make bench`` (``make bench FRESH=1`` regenerates the data), or
``.venv/bin/python bench/run.py [--fresh] [--skip-postgresql] [--skip-region] [--quick]``.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import json
import os
import platform
import pstats
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit_app.accounts.models import User  # noqa: E402  (after the path is set, when run as a script)
from audit_app.extensions import db  # noqa: E402
from audit_app.reporting import exports, findings  # noqa: E402
from audit_app.reporting import queries as q  # noqa: E402
from bench import generate as gen  # noqa: E402
from bench.app_models import Round  # noqa: E402
from bench.load.run import kept_section  # noqa: E402

RESULTS = ROOT / "bench" / "results.md"
#: where a smoke run writes, so that CI never rewrites the published results
SMOKE_RESULTS = Path(tempfile.gettempdir()) / "audit-bench-smoke-results.md"
RETURNED = ("submitted", "accepted")
GOOD = ("Outstanding", "Good")
PAGE_P95_TARGET = 0.150
#: requests timed for a page with a p95 target: with 50, the p95 is the third-slowest request, and whether two
#: or three of them meet a full garbage collection (about one request in twenty) decides the verdict
PAGE_REQUESTS = 200
#: the returns pages (My returns, a return, a return's section): p95 and SQL statements per request
RETURNS_P95_TARGET = 0.300
RETURNS_QUERY_BUDGET = 15
#: which code the returns pages were measured on, in their names in results.md: say "after" once the
#: round-engine speed fixes (My returns paginated and eager-loaded, answers loaded once a page) are in
RETURNS_STAGE = "after the round-engine speed fixes: My returns shows 50 a page"
TREND_TARGET = 0.5
REGION_TARGET = 5.0
RATIO_TARGET = 1.5
EXPORT_SECONDS_TARGET = 15.0
EXPORT_MB_TARGET = 500.0
EXPORT_MIN_ROWS = 200_000
#: shown where there is no figure
NONE = "\u2013"

#: the query functions whose time is reported apart from the pandas and table-building around them
QUERY_FUNCTIONS = [
    "round_questions",
    "round_returns",
    "round_agencies",
    "scale_levels",
    "round_answer_counts",
    "round_agency_grades",
    "panel_grades",
    "theme_rounds",
    "overall_grade_scale_ids",
    "theme_grade_counts",
    "agency_theme_counts",
]

# -- the hand-written SQL: one GROUP BY each, giving the same numbers as the app --

ROUND_SQL = sa.text(
    r"""
SELECT ag.name AS agency,
       CASE WHEN q.role = 'overall_grade' THEN 'overall' ELSE s.key END AS grade_key,
       sl.label AS label,
       sl.is_not_applicable AS is_na,
       COUNT(*) AS n
FROM answers a
JOIN returns r ON r.id = a.return_id
JOIN agencies ag ON ag.id = r.agency_id
JOIN questions q ON q.id = a.question_id
JOIN sections s ON s.id = q.section_id
JOIN scale_levels sl ON sl.id = a.scale_level_id
WHERE r.round_id = :round_id
  AND r.status IN ('submitted', 'accepted')
  AND q.type = 'scale'
  AND q.role IN ('grade', 'overall_grade')
GROUP BY 1, 2, 3, 4
"""
)

TREND_SQL = sa.text(
    """
SELECT r.round_id, ag.name AS agency, sl.label AS label, sl.is_not_applicable AS is_na, COUNT(*) AS n
FROM answers a
JOIN returns r ON r.id = a.return_id
JOIN rounds ro ON ro.id = r.round_id
JOIN agencies ag ON ag.id = r.agency_id
JOIN questions q ON q.id = a.question_id
JOIN scale_levels sl ON sl.id = a.scale_level_id
WHERE ro.partnership_id = :partnership_id
  AND ro.theme_id = :theme_id
  AND q.role = 'overall_grade'
  AND r.status IN ('submitted', 'accepted')
GROUP BY 1, 2, 3, 4
"""
)

AGENCY_THEME_SQL = sa.text(
    """
SELECT ag.id AS agency_id,
       th.id AS theme_id,
       SUM(CASE WHEN sl.is_not_applicable THEN 0 ELSE 1 END) AS graded,
       SUM(CASE WHEN sl.counts_as_good THEN 1 ELSE 0 END) AS good
FROM answers a
JOIN returns r ON r.id = a.return_id
JOIN rounds ro ON ro.id = r.round_id
JOIN agencies ag ON ag.id = r.agency_id
JOIN themes th ON th.id = ro.theme_id
JOIN questions q ON q.id = a.question_id
JOIN scale_levels sl ON sl.id = a.scale_level_id
WHERE ro.partnership_id IN :partnership_ids
  AND q.role = 'overall_grade'
  AND r.status IN ('submitted', 'accepted')
GROUP BY 1, 2
"""
).bindparams(sa.bindparam("partnership_ids", expanding=True))


# -- timing --


#: (generation, seconds) of every garbage collection since the benchmark started
COLLECTIONS: list[tuple[int, float]] = []
_gc_started = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        COLLECTIONS.append((info["generation"], time.perf_counter() - _gc_started[0]))


@dataclass
class Stats:
    """Repeated timings in seconds, with the full (generation 2) garbage collections inside each."""

    samples: list[float]
    warmup: int
    #: seconds of full garbage collection during each sample
    full_gc: list[float] = field(default_factory=list)
    #: cores kept busy by other processes on average meanwhile, and the busiest of them
    others: float = 0.0
    busiest: str = ""

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        # nearest rank: the smallest sample at or above 95 % of them
        return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]

    @property
    def worst(self) -> float:
        return max(self.samples)

    @property
    def with_gc(self) -> int:
        """How many samples included a full garbage collection."""
        return sum(1 for seconds in self.full_gc if seconds > 0)

    def without_gc(self) -> Stats:
        """The samples with no full garbage collection in them."""
        kept = [t for t, g in zip(self.samples, self.full_gc, strict=True) if g == 0]
        return Stats(kept or self.samples, self.warmup, [0.0] * len(kept or self.samples), self.others, self.busiest)

    def gc_note(self) -> str:
        if not self.with_gc:
            return ""
        pauses = [g for g in self.full_gc if g > 0]
        clean = self.without_gc()
        return (
            f"{self.with_gc} of {self.n} runs included a full garbage collection (generation 2) of "
            f"{ms(min(pauses))} to {ms(max(pauses))}; without them median {ms(clean.median)}, p95 {ms(clean.p95)}"
        )


@dataclass
class CpuSnapshot:
    """Clock ticks so far: the machine's busy time (``/proc/stat``), time stolen by the hypervisor, this
    benchmark's own (with the PostgreSQL backends answering it), and every other running process's."""

    busy: int
    steal: int
    ours: dict[int, int]
    others: dict[int, tuple[str, int]]


def _cpu_ticks() -> CpuSnapshot:
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]
    steal = fields[7] if len(fields) > 7 else 0
    ours: dict[int, int] = {}
    others: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        values = stat.rsplit(")", 1)[1].split()
        ticks = int(values[11]) + int(values[12])
        if int(entry.name) == os.getpid() or "audit_bench_" in command:
            ours[int(entry.name)] = ticks  # this process, or a PostgreSQL backend answering its queries
            continue
        name = command.split(" ")[0].rsplit("/", 1)[-1] or stat[stat.index("(") + 1 : stat.rindex(")")]
        others[int(entry.name)] = ("postgres" if name.startswith("postgres:") else name, ticks)
    return CpuSnapshot(busy, steal, ours, others)


def others_busy(before: CpuSnapshot, seconds: float) -> tuple[float, str]:
    """How many cores other processes (and the hypervisor's steal) took on average since ``before``, and the
    busiest of them. Exited processes count in the total, though they cannot be named."""
    after = _cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK") * max(seconds, 1e-9)
    # per process, so that a backend exiting meanwhile does not take its whole past with it
    ours = sum(ticks - before.ours.get(pid, 0) for pid, ticks in after.ours.items())
    busy = max(0, (after.busy - before.busy) - ours) / hz
    steal = (after.steal - before.steal) / hz
    per_name: dict[str, int] = {}
    for pid, (name, ticks) in after.others.items():
        used = ticks - before.others[pid][1] if pid in before.others else ticks
        if used > 0:
            per_name[name] = per_name.get(name, 0) + used
    named = [f"{name} {ticks / hz:.2f}" for name, ticks in sorted(per_name.items(), key=lambda item: -item[1])[:3]]
    if steal >= 0.05:
        named.append(f"hypervisor steal {steal:.2f}")
    return busy + steal, ", ".join(named)


def repeat_together(runs: list[Callable[[], float]], *, warmup: int, reps: int) -> list[Stats]:
    """Call each of ``runs`` (which return the seconds they measured) in turn, ``warmup`` rounds then ``reps``
    rounds, so that measurements to be compared share whatever the machine was doing."""
    for _ in range(warmup):
        for run in runs:
            run()
    samples: list[list[float]] = [[] for _ in runs]
    full_gc: list[list[float]] = [[] for _ in runs]
    ticks = _cpu_ticks()
    started = time.perf_counter()
    for _ in range(reps):
        for i, run in enumerate(runs):
            before = len(COLLECTIONS)
            samples[i].append(run())
            full_gc[i].append(sum(seconds for generation, seconds in COLLECTIONS[before:] if generation == 2))
    busy, busiest = others_busy(ticks, time.perf_counter() - started)
    return [Stats(samples[i], warmup, full_gc[i], busy, busiest) for i in range(len(runs))]


def repeat(run: Callable[[], float], *, warmup: int, reps: int) -> Stats:
    """Call ``run`` (which returns the seconds it measured) ``warmup`` times, then ``reps`` times."""
    return repeat_together([run], warmup=warmup, reps=reps)[0]


def reps_for(seconds: float, quick: bool) -> tuple[int, int]:
    """Warm-up and repetitions for a measurement taking about ``seconds``: 3 + 50 for fast ones."""
    if quick:
        return 1, 5
    if seconds < 0.3:
        return 3, 50
    if seconds < 1.5:
        return 3, 20
    return 2, 10


def ms(seconds: float | None) -> str:
    if seconds is None:
        return NONE
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


@contextmanager
def query_clock() -> Iterator[dict[str, float]]:
    """Time every function in :data:`QUERY_FUNCTIONS` while inside (reporting/queries.py is patched in
    this process only, and put back afterwards)."""
    spent: dict[str, float] = {}
    originals = {name: getattr(q, name) for name in QUERY_FUNCTIONS}

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return timed

    for name, fn in originals.items():
        setattr(q, name, wrap(name, fn))
    try:
        yield spent
    finally:
        for name, fn in originals.items():
            setattr(q, name, fn)


# -- results --


@dataclass
class Result:
    measurement: str
    database: str
    stats: Stats | None
    target: str
    verdict: str
    note: str = ""
    #: the figure judged against the target, in seconds (median or p95)
    judged: float | None = None
    #: SQL statements sent per request (pages only), one count per timed request
    queries: list[int] | None = None
    #: the figure judged, in words, where it is not a time (a query count)
    figure: str | None = None

    def shown(self) -> str:
        if self.figure is not None:
            return self.figure
        return ms(self.judged) if self.judged is not None else NONE


def query_counts(counts: list[int] | None) -> str:
    """SQL statements per request: the median, and the range when requests differ."""
    if not counts:
        return NONE
    low, mid, high = min(counts), statistics.median(counts), max(counts)
    return f"{mid:,.0f}" if low == high else f"{mid:,.0f} ({low:,} to {high:,})"


class QueryCounter:
    """Counts the SQL statements an app's engine sends, with a ``before_cursor_execute`` listener
    (``with QueryCounter(app) as counter: ... counter.count``)."""

    def __init__(self, app: Any) -> None:
        with app.app_context():
            self.engine = db.engine
        self.count = 0

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


@dataclass
class Ratio:
    aggregate: str
    database: str
    app: Stats
    sql: Stats
    equal: bool
    detail: str
    breakdown: dict[str, float]
    rows: int
    #: (where, share of the function's time) of the application code that takes longest, by cProfile
    hotspots: list[tuple[str, float]] = field(default_factory=list)
    #: tables the app's function built
    tables: int = 0

    @property
    def ratio(self) -> float:
        return self.app.median / self.sql.median

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio <= RATIO_TARGET else "MISS"


@dataclass
class Export:
    database: str
    what: str
    rows: int
    seconds: list[float]
    peak_mb: float
    baseline_mb: float
    file_mb: float

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def verdict(self) -> str:
        if self.rows < EXPORT_MIN_ROWS:
            return "n/a"
        ok = self.median < EXPORT_SECONDS_TARGET and self.peak_mb < EXPORT_MB_TARGET
        return "PASS" if ok else "MISS"


@dataclass
class Report:
    started: datetime
    results: list[Result] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pg_version: str = ""
    #: (database, 1-minute load average before its measurements, after them)
    loads: list[tuple[str, float, float]] = field(default_factory=list)
    max_wait: float = 600.0
    code: str = ""

    def add(self, result: Result) -> Result:
        self.results.append(result)
        shown = result.shown() if result.judged is not None or result.figure is not None else result.note
        if result.queries and result.figure is None:
            shown += f", {query_counts(result.queries)} SQL queries per request"
        print(f"    {result.measurement}: {shown} [{result.verdict}]", flush=True)
        return result


def verdict(value: float, limit: float) -> str:
    return "PASS" if value < limit else "MISS"


def over(value: float, limit: float) -> str:
    return f"{ms(value - limit)} ({(value / limit - 1) * 100:.0f} %) over the target"


# -- measurements --


def _context_run(app: Any, body: Callable[[], Any]) -> Callable[[], float]:
    """A run timing ``body`` in a fresh app context (and so a fresh session), as a request gets."""

    def run() -> float:
        with app.app_context():
            started = time.perf_counter()
            body()
            return time.perf_counter() - started

    return run


def _estimate(run: Callable[[], float]) -> float:
    return min(run(), run())


def measure_page(
    report: Report,
    app: Any,
    label: str,
    name: str,
    path: str,
    user_id: int,
    partnership_id: int,
    quick: bool,
    target: float | None,
    *,
    query_budget: int | None = None,
    what_if: bool = True,
    requests: int | None = None,
    must_contain: str | None = None,
) -> Result:
    """Request a page as a signed-in user through the test client; its latency over repeated requests and the
    SQL statements each request sends. With a ``target`` (p95, seconds) the p95 is judged, over
    :data:`PAGE_REQUESTS` requests unless ``requests`` says fewer, and the same requests are then timed after
    ``gc.freeze()`` unless ``what_if`` is false; with a ``query_budget`` the most statements any request sent
    is judged too, in a row of its own."""
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    try:
        app.url_map.bind("localhost").match(path, method="GET")
    except (NotFound, MethodNotAllowed):
        return report.add(
            Result(name, label, None, _page_target(target), "n/a", f"`GET {path}` is not a route of the app yet")
        )
    from audit_app.accounts.security import start_session
    from audit_app.accounts.session import SESSION_KEY

    client = app.test_client()
    with app.app_context():
        user = db.session.get(User, user_id)
        session_id = user.get_id()
        key = start_session(user, ip_address="127.0.0.1", user_agent="bench")
        db.session.commit()
    with client.session_transaction() as session:
        # what a sign-in keeps: Flask-Login's id and the key of its session record (tests/conftest.py does the same)
        session["_user_id"] = session_id
        session[SESSION_KEY] = key
        session["_fresh"] = True
        session["partnership_id"] = partnership_id
    with QueryCounter(app) as counter:
        first = client.get(path)
    if first.status_code != 200:
        text = first.get_data(as_text=True)
        return report.add(
            Result(
                name,
                label,
                None,
                _page_target(target),
                "ERROR",
                f"`GET {path}` answered {first.status_code}: {text[:200]!r}",
            )
        )
    if must_contain is not None and must_contain not in first.get_data(as_text=True):
        return report.add(
            Result(name, label, None, _page_target(target), "ERROR", f"`GET {path}` does not say {must_contain!r}")
        )
    size = len(first.get_data())
    counts: list[int] = []

    def run() -> float:
        counter.count = 0
        started = time.perf_counter()
        response = client.get(path)
        response.get_data()
        elapsed = time.perf_counter() - started
        counts.append(counter.count)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        return elapsed

    with counter:
        estimate = _estimate(run)
        warmup, reps = reps_for(estimate, quick)
        if target is not None and not quick:
            warmup, reps = 3, requests or _page_requests(estimate)
        counts.clear()
        stats = repeat(run, warmup=warmup, reps=reps)
        timed = counts[-reps:]
        note = f"`GET {path}`, {size / 1024:,.0f} KB of HTML"
        if stats.with_gc:
            note += f"; {stats.gc_note()}"
        if target is None:
            return report.add(Result(name, label, stats, NONE, "info", note, judged=stats.p95, queries=timed))
        result = Result(
            name,
            label,
            stats,
            _page_target(target),
            verdict(stats.p95, target),
            note,
            judged=stats.p95,
            queries=timed,
        )
        if result.verdict == "MISS":
            result.note += f"; p95 {over(stats.p95, target)}"
        report.add(result)
        if query_budget is not None:
            most = max(timed)
            report.add(
                Result(
                    f"{name}: SQL queries per request",
                    label,
                    None,
                    f"≤ {query_budget} queries",
                    "PASS" if most <= query_budget else "MISS",
                    f"`GET {path}`: {query_counts(timed)} statements per request (`before_cursor_execute`), "
                    f"the most {most:,}"
                    + (f", {most - query_budget:,} over the budget" if most > query_budget else ""),
                    queries=timed,
                    figure=f"{most:,} queries",
                )
            )
        if what_if:
            _freeze_what_if(report, label, name, run, quick)
    return result


def _freeze_what_if(report: Report, label: str, name: str, run: Callable[[], float], quick: bool) -> None:
    """The same requests after ``gc.collect(); gc.freeze()``, as a server would do once after start-up, so
    full collections no longer walk the objects every request shares (modules, caches, the app)."""
    tracked = len(gc.get_objects())
    started = time.perf_counter()
    gc.collect()
    collect = time.perf_counter() - started
    gc.freeze()
    try:
        stats = repeat(run, warmup=1 if quick else 3, reps=5 if quick else PAGE_REQUESTS)
    finally:
        gc.unfreeze()
    note = (
        f"what if: the same requests after `gc.collect(); gc.freeze()`. Before freezing, the process tracked "
        f"{tracked:,} objects and a full collection took {ms(collect)}"
    )
    if stats.with_gc:
        note += f"; {stats.gc_note()}"
    report.add(Result(f"{name}, after `gc.freeze()` (what if)", label, stats, NONE, "info", note, judged=stats.p95))


def _page_requests(estimate: float) -> int:
    """Requests timed for a page with a p95 target: :data:`PAGE_REQUESTS`, fewer for a page taking most of a
    second or more (My returns today), so that one page does not take many minutes; the p95 of 20 is the
    second-slowest."""
    if estimate < 0.3:
        return PAGE_REQUESTS
    return 50 if estimate < 1.0 else 20


def _page_target(target: float | None) -> str:
    return f"p95 < {ms(target)}" if target is not None else NONE


def hotspots(app: Any, build: Callable[[], Any], calls: int = 5, top: int = 5) -> list[tuple[str, float]]:
    """The application functions (and comprehensions) taking most of ``build``'s time under cProfile, as
    (place, share of the total). cProfile slows pandas-heavy code, so shares, not milliseconds."""
    profile = cProfile.Profile()
    with app.app_context():
        build()
        profile.enable()
        for _ in range(calls):
            build()
        profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    ours = {key: value for key, value in stats.items() if "/audit_app/" in key[0]}
    if not ours:
        return []
    total = max(value[3] for value in ours.values())
    places = []
    for (filename, line, name), (_, _, _, cumulative, callers) in ours.items():
        if cumulative >= total * 0.99 or cumulative < total * 0.05:
            continue
        where = f"{Path(filename).parent.name}/{Path(filename).name}:{line}"
        if name.startswith("<"):
            inside = [caller[2] for caller in callers if "/audit_app/" in caller[0] and not caller[2].startswith("<")]
            if not inside:
                continue  # a comprehension inside another: its outer one is listed
            name = f"{inside[0]}: {name}"
        places.append((f"`{name}` ({where})", cumulative / total))
    return sorted(places, key=lambda place: -place[1])[:top]


def measure_pair(
    app: Any, build: Callable[[], findings.Findings], sql: sa.TextClause, params: dict[str, Any], quick: bool
) -> tuple[Stats, Stats, findings.Findings, list[Any], dict[str, float]]:
    """Time a findings function and its hand-written SQL, call for call in turn; the function's result,
    the SQL's rows, and how the function's time divides between its queries and the rest."""
    found: list[findings.Findings] = []
    rows: list[Any] = []

    def app_body() -> None:
        found[:] = [build()]

    def sql_body() -> None:
        rows[:] = db.session.execute(sql, params).all()

    app_run, sql_run = _context_run(app, app_body), _context_run(app, sql_body)
    warmup, reps = reps_for(_estimate(app_run), quick)
    app_stats, sql_stats = repeat_together([app_run, sql_run], warmup=warmup, reps=reps)
    # the breakdown, apart, so the patched functions never slow the timings above
    totals: list[float] = []
    parts: dict[str, list[float]] = {}
    for _ in range(3 if quick else 7):
        with query_clock() as spent:
            totals.append(app_run())
        for name, seconds in spent.items():
            parts.setdefault(name, []).append(seconds)
    breakdown = {name: statistics.median(values) for name, values in parts.items()}
    breakdown["total"] = statistics.median(totals)
    return app_stats, sql_stats, found[0], rows, breakdown


def round_grade_names(round_: Any) -> dict[str, str]:
    """What the round's tables call each graded section, by grade key (``overall`` or a section key), as
    ``round_findings`` names them (``findings._graded_sections``; it no longer leaves them in ``extra``)."""
    return findings._graded_sections(q.round_questions(round_.questionnaire_version_id))[2]


def check_round(names: dict[str, str], found: findings.Findings, rows: list[Any]) -> tuple[bool, str]:
    """The round's ``grades`` and ``grades_by_agency`` tables against the SQL counts; ``names`` from
    :func:`round_grade_names`."""
    labels = found.extra["scale"].labels
    by_section: dict[tuple[str, str], int] = {}
    by_agency: dict[tuple[str, str, str], int] = {}
    for agency, grade_key, label, is_na, n in rows:
        label = "not_applicable" if is_na else label
        by_section[(names[grade_key], label)] = by_section.get((names[grade_key], label), 0) + n
        by_agency[(agency, names[grade_key], label)] = by_agency.get((agency, names[grade_key], label), 0) + n
    problems = []
    for row in found.tables["grades"].rows:
        for label in [*labels, "not_applicable"]:
            if row[label] != by_section.get((row["grade"], label), 0):
                problems.append(
                    f"grades {row['grade']} {label}: app {row[label]}, SQL {by_section.get((row['grade'], label), 0)}"
                )
    by_agency_rows = found.tables["grades_by_agency"].rows if "grades_by_agency" in found.tables else []
    for row in by_agency_rows:
        for label in [*labels, "not_applicable"]:
            sql = by_agency.get((row["agency"], row["grade"], label), 0)
            if row[label] != sql:
                problems.append(f"grades_by_agency {row['agency']} {row['grade']} {label}: app {row[label]}, SQL {sql}")
    compared = len(found.tables["grades"].rows) + len(by_agency_rows)
    tables = "`grades` and `grades_by_agency`" if by_agency_rows else "`grades`"
    total = sum(by_section.values())
    if sum(r["graded"] + r["not_applicable"] for r in found.tables["grades"].rows) != total:
        problems.append("grades: total answers differ")
    return _verdict(problems, f"{compared} rows of {tables}, {total:,} grade answers")


def check_trend(round_ids: list[int], found: findings.Findings, rows: list[Any]) -> tuple[bool, str]:
    """The theme's ``trend`` and ``trend_by_agency`` tables against the SQL counts; ``round_ids`` are the
    theme's rounds in the tables' order (``queries.theme_rounds``, as ``theme_trend`` asks for them; it no
    longer leaves them in ``extra``)."""
    labels = found.extra["scale"].labels
    overall: dict[tuple[int, str], int] = {}
    per_agency: dict[tuple[str, int, str], int] = {}
    for round_id, agency, label, is_na, n in rows:
        label = "not_applicable" if is_na else label
        overall[(round_id, label)] = overall.get((round_id, label), 0) + n
        per_agency[(agency, round_id, label)] = per_agency.get((agency, round_id, label), 0) + n
    problems = []
    trend = found.tables["trend"].rows
    if len(trend) != len(round_ids):
        problems.append(f"trend has {len(trend)} rows for {len(round_ids)} rounds")
    for round_id, row in zip(round_ids, trend, strict=False):
        for label in [*labels, "not_applicable"]:
            if row[label] != overall.get((round_id, label), 0):
                problems.append(
                    f"trend round {round_id} {label}: app {row[label]}, SQL {overall.get((round_id, label), 0)}"
                )
        good = sum(overall.get((round_id, label), 0) for label in GOOD)
        if row["good_or_better"] != good:
            problems.append(f"trend round {round_id} good or better: app {row['good_or_better']}, SQL {good}")
    agencies = sorted({agency for agency, _, _ in per_agency})
    by_agency = found.tables["trend_by_agency"].rows
    if len(by_agency) != len(agencies) * len(round_ids):
        problems.append(
            f"trend_by_agency has {len(by_agency)} rows for {len(agencies)} agencies x {len(round_ids)} rounds"
        )
    for i, row in enumerate(by_agency):
        agency, round_id = agencies[i // len(round_ids)], round_ids[i % len(round_ids)]
        if row["agency"] != agency:
            problems.append(f"trend_by_agency row {i}: agency {row['agency']!r}, expected {agency!r}")
            break
        for label in [*labels, "not_applicable"]:
            sql = per_agency.get((agency, round_id, label), 0)
            if row[label] != sql:
                problems.append(f"trend_by_agency {agency} round {round_id} {label}: app {row[label]}, SQL {sql}")
    total = sum(overall.values())
    return _verdict(
        problems, f"{len(trend)} rounds x levels and {len(by_agency)} agency-round rows, {total:,} overall grades"
    )


def check_agency_theme(found: findings.Findings, rows: list[Any]) -> tuple[bool, str]:
    """The ``agency_theme`` table (good or better, graded, per agency and theme) against the SQL, matched by the
    agency's and the theme's ids (each theme's columns are ``theme_<id>_good`` and ``theme_<id>_graded``)."""
    sql = {(agency_id, theme_id): (int(graded), int(good)) for agency_id, theme_id, graded, good in rows}
    problems = []
    table = found.tables["agency_theme"]
    theme_ids = [
        int(c.key.split("_")[1]) for c in table.columns if c.key.startswith("theme_") and c.key.endswith("_graded")
    ]
    seen = set()
    for row in table.rows:
        for theme_id in theme_ids:
            key = (row["agency_id"], theme_id)
            graded, good = sql.get(key, (0, 0))
            seen.add(key)
            app = (row[f"theme_{theme_id}_graded"], row[f"theme_{theme_id}_good"])
            if app != (graded, good):
                problems.append(f"{row['agency']} / theme {theme_id}: app {app[1]} of {app[0]}, SQL {good} of {graded}")
    missing = [key for key, (graded, _) in sql.items() if key not in seen and graded]
    if missing:
        problems.append(f"{len(missing)} agency-theme pairs in the SQL are not in the table, e.g. {missing[0]}")
    total = sum(graded for graded, _ in sql.values())
    return _verdict(problems, f"{len(table.rows)} agencies x {len(theme_ids)} themes, {total:,} overall grades")


def _verdict(problems: list[str], what: str) -> tuple[bool, str]:
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        return False, f"DIFFERENT ({what}): {shown}"
    return True, f"equal: {what}"


def aggregate(
    report: Report,
    app: Any,
    label: str,
    name: str,
    build: Callable[[], findings.Findings],
    sql: sa.TextClause,
    params: dict[str, Any],
    check: Callable[[findings.Findings, list[Any]], tuple[bool, str]],
    quick: bool,
    target: tuple[float, str] | None,
) -> Ratio:
    """An app aggregate against its hand-written SQL: both timed, the numbers compared."""
    app_stats, sql_stats, found, rows, breakdown = measure_pair(app, build, sql, params, quick)
    equal, detail = check(found, rows)
    ratio = Ratio(
        name, label, app_stats, sql_stats, equal, detail, breakdown, len(rows), hotspots(app, build), len(found.tables)
    )
    report.ratios.append(ratio)
    if target is not None:
        limit, text = target
        result = Result(name, label, app_stats, text, verdict(app_stats.median, limit), judged=app_stats.median)
        result.note = f"p95 {ms(app_stats.p95)}"
        if result.verdict == "MISS":
            result.note += f"; median {over(app_stats.median, limit)}"
        if app_stats.with_gc:
            result.note += f"; {app_stats.gc_note()}"
        report.add(result)
    print(
        f"    {name}: app {ms(app_stats.median)}, SQL {ms(sql_stats.median)}, ratio {ratio.ratio:.2f} [{ratio.verdict}]; "
        f"numbers {'equal' if equal else 'DIFFERENT'}",
        flush=True,
    )
    return ratio


def export_child(url: str, partnership_id: int, theme_id: int | None, out: str) -> None:
    """In a subprocess of its own: export, then print rows, seconds and peak RSS as JSON."""
    app = gen.bench_app(url)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with app.app_context():
        started = time.perf_counter()
        rows = exports.answers_xlsx(out, partnership_id, theme_id=theme_id)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = os.path.getsize(out) / 1024 / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak, "baseline_mb": baseline, "file_mb": size}))


def measure_export(
    report: Report, label: str, url: str, partnership_id: int, theme_id: int | None, what: str, runs: int
) -> Export:
    """Run the export ``runs`` times, each in a fresh Python process; the median time and highest peak RSS."""
    out = gen.DATA_DIR / "export-bench.xlsx"
    measured = []
    for _ in range(runs):
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--export-child",
            url,
            str(partnership_id),
            str(theme_id or 0),
            str(out),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603  (our own script)
        if done.returncode != 0:
            raise RuntimeError(f"export subprocess failed: {done.stderr[-2000:]}")
        measured.append(json.loads(done.stdout.strip().splitlines()[-1]))
    out.unlink(missing_ok=True)
    export = Export(
        label,
        what,
        measured[0]["rows"],
        [m["seconds"] for m in measured],
        max(m["peak_mb"] for m in measured),
        min(m["baseline_mb"] for m in measured),
        measured[0]["file_mb"],
    )
    report.exports.append(export)
    print(
        f"    export {what}: {export.rows:,} rows in {export.median:.1f} s, peak RSS {export.peak_mb:.0f} MB "
        f"(baseline {export.baseline_mb:.0f} MB) [{export.verdict}]",
        flush=True,
    )
    return export


# -- one database --


def bench_database(report: Report, size: str, backend: str, meta: dict[str, Any], quick: bool) -> None:
    """Every measurement that applies to one benchmark database."""
    tgt = gen.target(size, backend)
    label = tgt.label
    app = gen.bench_app(tgt.url)
    before = wait_for_quiet(report.max_wait)
    try:
        _bench_database(report, size, tgt, label, app, meta, quick)
    finally:
        report.loads.append((label, before, os.getloadavg()[0]))


def wait_for_quiet(max_wait: float, threshold: float = 1.0) -> float:
    """Wait (up to ``max_wait`` seconds) until the machine is idle: other work on 2 cores skews every figure.
    Returns the 1-minute load average measured before starting."""
    waited = 0.0
    load = os.getloadavg()[0]
    while load >= threshold and waited < max_wait:
        if waited % 60 == 0:
            print(f"    waiting for the machine to be idle (1-minute load average {load:.1f})...", flush=True)
        time.sleep(10)
        waited += 10
        load = os.getloadavg()[0]
    if load >= threshold:
        print(f"    still busy after {max_wait:.0f} s (load {load:.1f}): measuring anyway", flush=True)
    return load


def _bench_database(
    report: Report, size: str, tgt: gen.Target, label: str, app: Any, meta: dict[str, Any], quick: bool
) -> None:
    round_info = meta["round"]
    history = meta["partnerships"]
    first = history[0] if history else None
    print(f"  measuring on {label}", flush=True)

    # The round findings page and the function behind it (25 cases, 10 agencies, 40 questions)
    round_id = round_info["round_id"]
    page_target = PAGE_P95_TARGET if size != "region" else None
    measure_page(
        report,
        app,
        label,
        "Round findings page",
        f"/rounds/{round_id}/findings",
        round_info["qa_user_id"],
        round_info["partnership_id"],
        quick,
        page_target,
    )

    def build_round() -> findings.Findings:
        return findings.round_findings(db.session.get(Round, round_id))

    with app.app_context():
        check_this_round = functools.partial(check_round, round_grade_names(db.session.get(Round, round_id)))

    ratio = aggregate(
        report,
        app,
        label,
        "Round findings (`round_findings`)",
        build_round,
        ROUND_SQL,
        {"round_id": round_id},
        check_this_round,
        quick,
        None,
    )
    summary = getattr(findings, "SUMMARY", None)
    if summary is not None:
        # what the page itself asks for (the agencies page asks for the other part)
        aggregate(
            report,
            app,
            label,
            "Round findings, summary part only (`round_findings(round, parts={SUMMARY})`, as the page)",
            lambda: findings.round_findings(db.session.get(Round, round_id), parts=frozenset({summary})),
            ROUND_SQL,
            {"round_id": round_id},
            check_this_round,
            quick,
            None,
        )
    report.add(
        Result(
            "Round findings function (`round_findings`)",
            label,
            ratio.app,
            "(page target) p95 < 150 ms" if page_target else NONE,
            verdict(ratio.app.p95, PAGE_P95_TARGET) if page_target else "info",
            f"median {ms(ratio.app.median)}" + (f"; {ratio.app.gc_note()}" if ratio.app.with_gc else ""),
            judged=ratio.app.p95,
        )
    )
    if first is None:
        return

    # Ten years of one partnership: the theme trend (the theme with the most rounds)
    pid = first["partnership_id"]
    theme_name, theme_id = _busiest_theme(app, pid, first["theme_ids"])
    with app.app_context():
        trend_round_ids = q.theme_rounds(pid, theme_id)["round_id"].tolist()
    aggregate(
        report,
        app,
        label,
        f"Theme trend (`theme_trend`, {theme_name})",
        lambda: findings.theme_trend(pid, theme_id),
        TREND_SQL,
        {"partnership_id": pid, "theme_id": theme_id},
        functools.partial(check_trend, trend_round_ids),
        quick,
        (TREND_TARGET, f"median < {ms(TREND_TARGET)}") if size != "region" else None,
    )

    # Agency by theme: the whole region on PostgreSQL; the one partnership elsewhere
    ids = [p["partnership_id"] for p in history]
    scope = f"{len(ids)} partnerships" if len(ids) > 1 else "1 partnership"
    aggregate(
        report,
        app,
        label,
        f"Agency by theme (`agency_theme`, {scope})",
        lambda: findings.agency_theme(ids),
        AGENCY_THEME_SQL,
        {"partnership_ids": ids},
        check_agency_theme,
        quick,
        (
            REGION_TARGET,
            f"median < {ms(REGION_TARGET)}"
            + (" (region target)" if size == "region" else " (region target, on partnership data)"),
        ),
    )

    if size == "region":
        return
    # The pages around them, for information
    qa = first["qa_user_id"]
    measure_page(report, app, label, "Theme trend page", f"/themes/{theme_id}/trend", qa, pid, quick, None)
    measure_page(report, app, label, "Findings index page (agency by theme)", "/findings", qa, pid, quick, None)

    returns_pages(report, app, label, first, quick)

    # The answers export: every answer of the partnership (>= 200,000 rows), and one theme's
    runs = 1 if quick else 3
    measure_export(
        report,
        label,
        tgt.url,
        pid,
        None,
        "every returned answer of the partnership (`answers_xlsx(path, partnership_id)`)",
        runs,
    )
    measure_export(
        report, label, tgt.url, pid, theme_id, f"one theme, {theme_name} (`theme_id=`), as the theme page offers", 1
    )


#: the returns of a partnership that My returns lists (every round but those still being planned)
LISTED_RETURNS_SQL = sa.text(
    """
SELECT COUNT(*)
FROM returns r
JOIN rounds ro ON ro.id = r.round_id
WHERE ro.partnership_id = :partnership_id
  AND ro.status <> 'planning'
  AND (CAST(:agency_id AS INTEGER) IS NULL OR r.agency_id = :agency_id)
"""
)

#: the agency's return with the most answers in the partnership (the heaviest return page), newest first
BIGGEST_RETURN_SQL = sa.text(
    """
SELECT r.id, COUNT(a.id) AS answers
FROM returns r
JOIN rounds ro ON ro.id = r.round_id
LEFT JOIN answers a ON a.return_id = r.id
WHERE ro.partnership_id = :partnership_id
  AND ro.status <> 'planning'
  AND r.agency_id = :agency_id
GROUP BY r.id
ORDER BY 2 DESC, r.id DESC
LIMIT 1
"""
)

#: the return's section with the most answers (the heaviest section page)
BIGGEST_SECTION_SQL = sa.text(
    """
SELECT s.key, s.title, COUNT(*) AS answers
FROM answers a
JOIN questions q ON q.id = a.question_id
JOIN sections s ON s.id = q.section_id
WHERE a.return_id = :return_id
GROUP BY s.key, s.title
ORDER BY 3 DESC, s.key
LIMIT 1
"""
)


def returns_pages(report: Report, app: Any, label: str, part: dict[str, Any], quick: bool) -> None:
    """My returns (as the partnership's admin, seeing every return, and as an agency auditor, seeing their
    agency's), the auditor's biggest return and its biggest section, as those users, through the test
    client: p95 and SQL statements per request, against :data:`RETURNS_P95_TARGET` and
    :data:`RETURNS_QUERY_BUDGET`."""
    pid, agency_id, agency = part["partnership_id"], part["auditor_agency_id"], part["auditor_agency"]
    with app.app_context():
        listed_all = db.session.execute(LISTED_RETURNS_SQL, {"partnership_id": pid, "agency_id": None}).scalar_one()
        listed_agency = db.session.execute(
            LISTED_RETURNS_SQL, {"partnership_id": pid, "agency_id": agency_id}
        ).scalar_one()
        return_id, answers = db.session.execute(
            BIGGEST_RETURN_SQL, {"partnership_id": pid, "agency_id": agency_id}
        ).one()
        section_key, section, section_answers = db.session.execute(BIGGEST_SECTION_SQL, {"return_id": return_id}).one()
    pages = [
        (
            "My returns as the admin",
            f"all {listed_all:,} returns",
            "/returns",
            part["admin_user_id"],
            f"{listed_all} returns",
        ),
        (
            "My returns as an agency auditor",
            f"{agency}, {listed_agency:,} returns",
            "/returns",
            part["auditor_user_id"],
            f"{listed_agency} returns",
        ),
        (
            "Return page",
            f"the auditor's return with the most answers, {answers:,}",
            f"/returns/{return_id}",
            part["auditor_user_id"],
            None,
        ),
        (
            "Return section page",
            f"its section with the most answers, {section}, {section_answers:,}",
            f"/returns/{return_id}/sections/{section_key}",
            part["auditor_user_id"],
            None,
        ),
    ]
    for name, what, path, user_id, must_contain in pages:
        measure_page(
            report,
            app,
            label,
            f"{name} ({what}; {RETURNS_STAGE})",
            path,
            user_id,
            pid,
            quick,
            RETURNS_P95_TARGET,
            query_budget=RETURNS_QUERY_BUDGET,
            what_if=False,
            must_contain=must_contain,
        )


def _busiest_theme(app: Any, partnership_id: int, theme_ids: dict[str, int]) -> tuple[str, int]:
    with app.app_context():
        counts = dict(
            db.session.execute(
                sa.select(Round.theme_id, sa.func.count())
                .where(Round.partnership_id == partnership_id)
                .group_by(Round.theme_id)
            ).all()
        )
    name = max(theme_ids, key=lambda n: (counts.get(theme_ids[n], 0), -theme_ids[n]))
    return name, theme_ids[name]


# -- the machine and the report --


def machine(report: Report) -> list[tuple[str, str]]:
    cpu = platform.processor() or "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    from importlib.metadata import version

    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("RAM", f"{mem_kb / 1024 / 1024:.1f} GiB"),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", report.pg_version or "not measured"),
        (
            "Libraries",
            ", ".join(f"{name} {version(name)}" for name in ("Flask", "SQLAlchemy", "pandas", "numpy", "psycopg")),
        ),
    ]


def code_version() -> str:
    """The commit measured, and whether the application's code had uncommitted changes."""
    git = shutil.which("git")
    if not git:
        return "unknown (no git)"
    head = subprocess.run([git, "log", "-1", "--format=%h %s"], capture_output=True, text=True, cwd=ROOT, check=False)  # noqa: S603  (fixed command)
    dirty = subprocess.run(  # noqa: S603  (fixed command)
        [git, "status", "--porcelain", "--", "audit_app", "templates", "migrations"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    changed = [line[3:] for line in dirty.stdout.splitlines()]
    text = f"`{head.stdout.strip()[:100]}`"
    if changed:
        text += f", with uncommitted changes in {', '.join(f'`{c}`' for c in changed[:6])}"
        text += f" and {len(changed) - 6} more" if len(changed) > 6 else ""
    return text


def write_markdown(report: Report, elapsed: float) -> str:
    lines = [
        "# Findings benchmark results",
        "",
        f"Run on {report.started:%d %B %Y at %H:%M} UTC by `make bench` (`bench/run.py`) in {elapsed / 60:.1f} minutes; "
        "data from `bench/generate.py` "
        f"(generator version {gen.GENERATOR_VERSION}, seed {gen.SEED}). How to run it and what each figure means: "
        "[bench/README.md](README.md).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine(report)],
        f"| Code measured | {report.code} |",
        "",
        "## Data",
        "",
    ]
    lines += _data_section(report)
    lines += _summary(report)
    lines += [
        "## Results",
        "",
        "Latencies are wall-clock times in this process, each call in a fresh application context (a fresh "
        "database session), after warm-up calls. Pages are requested through the Flask test client signed in as a "
        "real user of the partnership (the findings pages as its QA group member; My returns as its admin and as "
        "an auditor of children's social care; the return and section pages as that auditor), so they include "
        "routing, the session, permission checks, the queries, pandas, the charts and the template, but not a "
        "network or a WSGI server. SQL queries per request are the statements the app's engine sent during each "
        "timed request (a SQLAlchemy `before_cursor_execute` listener), sign-in and permission checks included: "
        "the median, with the range when requests differed. "
        f"The returns pages have two targets, p95 < {ms(RETURNS_P95_TARGET)} and at most "
        f"{RETURNS_QUERY_BUDGET} SQL queries per request (judged on the most any request sent), and are named "
        f"with the code they were measured on ({RETURNS_STAGE}). "
        "A target on the median is judged on the median; the page target on the 95th percentile. "
        "The machine has 2 cores: the last column says how many cores other processes (not this benchmark nor "
        "the PostgreSQL backends answering it) kept busy on average while each figure was measured, from "
        "`/proc`; anything well above 0 makes that figure pessimistic. Full garbage collections that landed in "
        "a measurement are counted in its notes (Python's `gc.callbacks`).",
        "",
        "| measurement | database | median | p95 | runs | SQL queries / request | target | result | notes | other processes busy |",
        "|---|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for r in report.results:
        median = ms(r.stats.median) if r.stats else NONE
        p95 = ms(r.stats.p95) if r.stats else NONE
        runs = f"{r.stats.warmup} + {r.stats.n}" if r.stats else NONE
        lines.append(
            f"| {r.measurement} | {r.database} | {median} | {p95} | {runs} | {query_counts(r.queries)} | {r.target} | "
            f"**{r.verdict}** | {r.note} | "
            f"{_busy(r.stats)} |"
        )
    lines += [
        "",
        "### Each aggregate against one hand-written SQL GROUP BY",
        "",
        f"Target: the app's median within {RATIO_TARGET}x the median of one hand-written `GROUP BY` "
        "(raw SQL through `db.session.execute(sa.text(...))`, rows fetched) that returns the same numbers. "
        "The numbers are compared every run. For the round the SQL is the grade distribution (counts per agency, "
        "section grade question and level over returned answers), compared with the `grades` and "
        "`grades_by_agency` tables; for the trend, counts per round, agency and level of the overall grade, "
        "compared with `trend` and `trend_by_agency`; for agency by theme, graded and good-or-better overall "
        "grades per agency and theme, compared with `agency_theme`.",
        "",
        "| aggregate | database | app median | SQL median | ratio | target | result | numbers | other processes busy |",
        "|---|---|---:|---:|---:|---|---|---|---|",
    ]
    for r in report.ratios:
        lines.append(
            f"| {r.aggregate} | {r.database} | {ms(r.app.median)} | {ms(r.sql.median)} | {r.ratio:.2f}x | "
            f"≤ {RATIO_TARGET}x | **{r.verdict}** | {r.detail} | {_busy(r.app)} |"
        )
    lines += [
        "",
        "Where the app's time goes (median of 7 separate runs with the query functions of "
        '`reporting/queries.py` timed; "queries" includes building their DataFrames, "the rest" is '
        "pandas aggregation in `aggregation.py` and building `Table` rows in `findings.py`):",
        "",
        "| aggregate | database | total | in queries | the rest | slowest query | hot spots (cProfile, share of the time) |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in report.ratios:
        parts = {k: v for k, v in r.breakdown.items() if k != "total"}
        spent = sum(parts.values())
        slowest = max(parts, key=parts.__getitem__) if parts else NONE
        lines.append(
            f"| {r.aggregate} | {r.database} | {ms(r.breakdown['total'])} | {ms(spent)} | "
            f"{ms(r.breakdown['total'] - spent)} | `{slowest}` {ms(parts.get(slowest))} | "
            + "; ".join(f"{where} {share * 100:.0f} %" for where, share in r.hotspots)
            + " |"
        )
    lines += [
        "",
        "### The answers export",
        "",
        f"Target: {EXPORT_MIN_ROWS:,} answers or more in under {EXPORT_SECONDS_TARGET:.0f} s with peak memory "
        f"under {EXPORT_MB_TARGET:.0f} MB. Each run is a fresh Python process (`bench/run.py --export-child`) that "
        "builds the app and calls `exports.answers_xlsx` into a file; peak memory is the process's peak resident "
        "set size (`ru_maxrss`), which includes the interpreter, Flask, SQLAlchemy and pandas (the baseline column, "
        "measured before the export).",
        "",
        "| database | what | rows | median time | runs | peak RSS | baseline RSS | file | target | result |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for e in report.exports:
        target = (
            f"< {EXPORT_SECONDS_TARGET:.0f} s, < {EXPORT_MB_TARGET:.0f} MB"
            if e.rows >= EXPORT_MIN_ROWS
            else "(fewer rows: for scale)"
        )
        lines.append(
            f"| {e.database} | {e.what} | {e.rows:,} | {e.median:.1f} s | {len(e.seconds)} | {e.peak_mb:.0f} MB | "
            f"{e.baseline_mb:.0f} MB | {e.file_mb:.1f} MB | {target} | **{e.verdict}** |"
        )
    lines += ["", "## Targets missed, and why", ""]
    lines += _misses(report)
    loads = [f"{label} {before:.2f} before, {after:.2f} after" for label, before, after in report.loads]
    report.notes.append(
        "1-minute load average around each database's measurements (the benchmark waits up to "
        f"{report.max_wait:.0f} s for it to fall below 1 before starting): " + "; ".join(loads) + "."
    )
    if report.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in report.notes]]
    return "\n".join(lines) + "\n"


def _summary(report: Report) -> list[str]:
    """One line per target and database: the figure judged and the verdict."""
    lines = [
        "## Summary",
        "",
        "| target | database | figure | result |",
        "|---|---|---:|---|",
    ]
    for r in report.results:
        if r.verdict in ("PASS", "MISS", "ERROR") and not r.measurement.startswith("Round findings function"):
            lines.append(f"| {r.measurement}: {r.target} | {r.database} | {r.shown()} | **{r.verdict}** |")
        elif r.verdict == "n/a" and r.target != NONE:
            lines.append(f"| {r.measurement}: {r.target} | {r.database} | not measured | **n/a** |")
    for ratio in report.ratios:
        equal = "" if ratio.equal else " (numbers DIFFER)"
        lines.append(
            f"| {ratio.aggregate} within {RATIO_TARGET}x its SQL | {ratio.database} | {ratio.ratio:.2f}x | "
            f"**{ratio.verdict}**{equal} |"
        )
    for e in report.exports:
        if e.rows >= EXPORT_MIN_ROWS:
            lines.append(
                f"| Export of {e.rows:,} answers: < {EXPORT_SECONDS_TARGET:.0f} s, < {EXPORT_MB_TARGET:.0f} MB | "
                f"{e.database} | {e.median:.1f} s, {e.peak_mb:.0f} MB | **{e.verdict}** |"
            )
    return [*lines, ""]


def _busy(stats: Stats | None) -> str:
    """Cores other processes kept busy while this was measured (2 cores in all), and which."""
    if stats is None:
        return NONE
    if stats.others < 0.05:
        return "idle"
    return f"{stats.others:.2f} cores ({stats.busiest})"


def _data_section(report: Report) -> list[str]:
    lines = [
        "Every database is built by the application's Alembic migrations (`flask_migrate.upgrade()`), then filled "
        "by `bench/generate.py` with SQLAlchemy Core bulk inserts (SQLite) or `COPY` (PostgreSQL); the "
        "PostgreSQL databases are then `VACUUM ANALYZE`d, as autovacuum would have done on a live database. "
        "SQLite files are not `ANALYZE`d (the application never does). The same seed gives the same rows on both "
        "backends.",
        "",
        "- **round**: the partnership *Roundshire* (10 agencies, one theme, one 40-question questionnaire: 9 "
        "sections, 8 section grades and an overall grade on the Ofsted scale, 20 Yes/Partly/No questions with "
        "some *Not applicable*, 11 text questions) with one reported round of 25 cases, every agency on every "
        "case. It is an extra partnership inside each database below, so the round page is measured beside "
        "ten years of other data; its figures are in the *round* column.",
        "- **partnership**: *Roundshire* plus *Northshire*: 13 agencies (3 of them, police, ICB and probation, "
        "shared in the region), 4 themes, each with a questionnaire in two published versions (the second from "
        "2021, same keys), 2 to 4 rounds a year per theme from 2016 to 2025, 6 to 13 cases a round, about 20 % of rounds "
        "re-audits carrying cases forward, most returns accepted, some submitted, declined, on another template "
        "or never started, and the last rounds still open or in discussion; panel judgements per section and overall. "
        "Each partnership has a QA group member, an admin and an auditor of its children's social care (on every "
        "case), whose sessions request the pages.",
        "- **smoke** (`--size smoke`, SQLite): *Roundshire* plus *Northshire* cut to its last two years with fewer "
        "cases a round, to check in seconds that the benchmark runs.",
        "- **region** (PostgreSQL only): *Roundshire* plus as many ten-year partnerships as it takes to pass "
        "5,000,000 answers, sharing police forces (one per 4 partnerships), Integrated Care Boards (one per 3) and "
        "one probation service.",
        "",
    ]
    if not report.data:
        return [*lines, "No database was built.", ""]
    labels = list(report.data)
    lines += ["| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]

    def row(title: str, get: Callable[[dict[str, Any]], Any]) -> str:
        return f"| {title} | " + " | ".join(str(get(report.data[label])) for label in labels) + " |"

    lines.append(row("partnerships (ten-year)", lambda m: len(m["partnerships"])))
    lines.append(row("answers (all)", lambda m: f"{m['answers']:,}"))
    lines.append(row("answers in returned returns", lambda m: f"{m['returned_answers']:,}"))
    lines.append(row("answers in the round (*Roundshire*)", lambda m: f"{m['round']['answers']:,}"))
    lines.append(
        row(
            "answers in one ten-year partnership",
            lambda m: f"{m['partnerships'][0]['answers']:,}" if m["partnerships"] else NONE,
        )
    )
    tables = sorted({t for m in report.data.values() for t in m["rows"]})
    for table in tables:
        lines.append(row(f"`{table}` rows", lambda m, t=table: f"{m['rows'].get(t, 0):,}"))
    lines.append(
        row(
            "generated",
            lambda m: (
                f"reused (built {m['generated_at'][:10]} in {m['seconds']['total']:.0f} s)"
                if m.get("reused")
                else f"this run, in {m['seconds']['total']:.0f} s"
            ),
        )
    )
    lines.append(
        row(
            "generation: migrate / load / vacuum",
            lambda m: (
                f"{m['seconds']['migrate']:.0f} s / {m['seconds']['load']:.0f} s / {m['seconds']['vacuum_analyze']:.0f} s"
            ),
        )
    )
    return [*lines, ""]


def _misses(report: Report) -> list[str]:
    """Each missed target, by how much, with what the measurements say about why."""
    lines: list[str] = []
    for r in report.results:
        if r.verdict in ("MISS", "ERROR"):
            line = f"- **{r.measurement}** on {r.database}: {r.verdict}. {r.note}."
            if r.stats and r.stats.with_gc and r.judged is not None:
                clean = r.stats.without_gc()
                limits = {_page_target(t): t for t in (PAGE_P95_TARGET, RETURNS_P95_TARGET)}
                limit = limits.get(r.target)
                if limit and clean.p95 < limit:
                    line += (
                        f" The miss is full garbage collections: {r.stats.with_gc} of {r.stats.n} runs paid one "
                        f"({ms(min(g for g in r.stats.full_gc if g))} or more); without them the p95 is {ms(clean.p95)}, "
                        "well within the target. See the `gc.freeze()` what-if row."
                    )
            lines.append(line)
        elif r.verdict == "n/a" and r.target != NONE:
            lines.append(f"- **{r.measurement}** on {r.database}: not measured. {r.note}.")
    for r in report.ratios:
        if not r.equal:
            lines.append(f"- **{r.aggregate}** on {r.database}: the app's numbers differ from the SQL's: {r.detail}.")
        if r.verdict != "MISS":
            continue
        parts = {k: v for k, v in r.breakdown.items() if k != "total"}
        spent = sum(parts.values())
        total = r.breakdown["total"]
        slowest = max(parts, key=parts.__getitem__) if parts else NONE
        lines.append(
            f"- **{r.aggregate}** on {r.database}: {r.ratio:.2f}x its SQL, {r.ratio / RATIO_TARGET * 100 - 100:.0f} % over "
            f"the {RATIO_TARGET}x target ({ms(r.app.median)} against {ms(r.sql.median)}; within target would be "
            f"{ms(r.sql.median * RATIO_TARGET)}). Of the app's {ms(total)}, {ms(spent)} is spent in "
            f"{len(parts)} query function(s) (slowest `{slowest}`, {ms(parts.get(slowest))}) and "
            f"{ms(total - spent)} in pandas and table building. "
            + _why(r, parts, total)
            + " "
            + _same_elsewhere(report, r)
        )
    for e in report.exports:
        if e.verdict == "MISS":
            why = []
            if e.median >= EXPORT_SECONDS_TARGET:
                why.append(f"time {e.median:.1f} s is {e.median - EXPORT_SECONDS_TARGET:.1f} s over")
            if e.peak_mb >= EXPORT_MB_TARGET:
                why.append(f"peak RSS {e.peak_mb:.0f} MB is {e.peak_mb - EXPORT_MB_TARGET:.0f} MB over")
            lines.append(f"- **Export** on {e.database}: {'; '.join(why)}.")
    return lines or ["None: every target was met."]


#: causes recognised from the profile's hot spots: (text in a hot spot's name, least share, explanation)
KNOWN_CAUSES = [
    (
        "theme_trend: <listcomp>",
        0.2,
        "The largest hot spot is building the chart series in `findings.theme_trend`: "
        '`by_agency.loc[(agency, r), "good_or_better_pct"]` once per agency and round (about 400 lookups '
        "on a MultiIndex, each creating index views). Taking the column once, "
        '`pct = by_agency["good_or_better_pct"].to_dict()`, then `pct[(agency, r)]` (and the same for '
        "`overall`), gives the same series.",
    ),
    (
        "`trend` (",
        0.25,
        "`theme_trend` calls `aggregation.trend` (a `grade_distribution`: group-by, unstack, reindex) twice, for "
        "all agencies and per agency, and each costs a few milliseconds of pandas overhead on a few hundred rows. "
        "The all-agencies table is the per-agency counts summed by round, so one call and a "
        '`groupby(level="round_id").sum()` (or summing the count rows in plain Python) would do; and the three '
        "small queries before the count (`theme_rounds`, `overall_grade_scale_ids`, `scale_levels`) could be one "
        "round trip. Within 1.5x needs nearly all of this fixed cost gone.",
    ),
    (
        "`agency_theme_table` (",
        0.2,
        "`agency_theme_table` runs a whole `grade_distribution` (group-by, unstack, reindex on agencies x themes) "
        "for what the SQL returns as two sums per agency and theme; the count query itself is as fast as the SQL. "
        "On the region this fixed cost disappears in the count; on one partnership it is most of the gap.",
    ),
    (
        "_differences_table",
        0.1,
        "With both parts (as timed here, and as the API and the PDF ask for them) `round_findings` also builds "
        "the agency-against-panel tables (`round_agency_grades`, `grade_differences`, `_differences_table`, "
        "`difference_summary`); the summary part alone is measured in its own row.",
    ),
]


def _why(r: Ratio, parts: dict[str, float], total: float) -> str:
    """What the breakdown and the profile say, in words, for the kinds of miss seen."""
    if not parts:
        return ""
    known = " ".join(
        f"{text} (hot spot: {where}, {share * 100:.0f} % of the time under cProfile)"
        for needle, least, text in KNOWN_CAUSES
        for where, share in r.hotspots
        if needle in where and share >= least
    )
    return (_why_breakdown(r, parts, total) + " " + known).strip()


def _why_breakdown(r: Ratio, parts: dict[str, float], total: float) -> str:
    spent = sum(parts.values())
    if "round_answer_counts" in parts:
        grade_path = sum(parts.get(k, 0.0) for k in ("round_questions", "scale_levels", "round_answer_counts"))
        return (
            f"The function builds {r.tables} tables with {len(parts)} queries (return rates, grade distributions, "
            "every rated question, the panel's grades; with both parts also the agencies' grades case by case "
            "beside the panel's), while the SQL counts only grades, so the ratio compares unlike work. The queries behind the same numbers (questions, levels, answer counts) take "
            f"{ms(grade_path)}, {grade_path / r.sql.median:.1f}x the SQL on their own: `round_answer_counts` counts "
            "every scale answer of the round (not just grades) by agency, question and level, and two more round "
            "trips fetch the questions and levels."
        )
    main = max(parts.values())
    fixed = total - main
    return (
        f"The main counting query takes {ms(main)} (the hand-written SQL {ms(r.sql.median)}); the other "
        f"{ms(fixed)} is a fixed cost whatever the data size: {len(parts) - 1} more queries ({ms(spent - main)}) "
        f"and pandas and table building ({ms(total - spent)})."
    )


def _same_elsewhere(report: Report, r: Ratio) -> str:
    """How the same aggregate fares on the other databases (a fixed cost weighs less on more data)."""
    name = r.aggregate.split(" (")[0]
    others = [o for o in report.ratios if o is not r and o.aggregate.split(" (")[0] == name]
    if not others:
        return ""
    shown = ", ".join(f"{o.database} {o.ratio:.2f}x ({ms(o.app.median)} against {ms(o.sql.median)})" for o in others)
    return f"Elsewhere: {shown}."


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    smoke = args.size == "smoke"
    max_wait = args.max_wait if args.max_wait is not None else (0.0 if smoke else 600.0)
    report = Report(datetime.now(UTC), max_wait=max_wait)
    gen.DATA_DIR.mkdir(parents=True, exist_ok=True)
    gc.callbacks.append(_on_gc)
    report.code = code_version()

    if smoke:
        print("SQLite, smoke size", flush=True)
        meta = gen.ensure("smoke", "sqlite", fresh=args.fresh)
        report.data["smoke (SQLite)"] = meta
        bench_database(report, "smoke", "sqlite", meta, True)
        report.notes.append(
            "A smoke run (`--size smoke`, `make bench-smoke`): the smallest data, SQLite only, 1 warm-up and 5 "
            "runs each, no waiting for an idle machine. It checks that the benchmark runs; its figures are not "
            "for comparing."
        )
        return _finish(report, args, started)

    print("SQLite", flush=True)
    meta = gen.ensure("partnership", "sqlite", fresh=args.fresh)
    report.data["partnership (SQLite)"] = meta
    bench_database(report, "partnership", "sqlite", meta, args.quick)

    why = None if args.skip_postgresql else _postgresql()
    if args.skip_postgresql:
        report.notes.append("PostgreSQL was skipped (`--skip-postgresql`).")
    elif why:
        report.notes.append(f"PostgreSQL was not reachable, so its measurements were skipped: {why}")
        print(f"PostgreSQL not reachable, skipped: {why}", flush=True)
    else:
        print("PostgreSQL", flush=True)
        engine = sa.create_engine(gen.pg_server_url())
        with engine.connect() as conn:
            report.pg_version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            settings = {
                name: conn.execute(sa.text(f"SHOW {name}")).scalar_one()
                for name in ("shared_buffers", "work_mem", "effective_cache_size", "max_parallel_workers_per_gather")
            }
        engine.dispose()
        report.notes.append(
            "PostgreSQL settings (server defaults, untuned): "
            + ", ".join(f"`{k}` {v}" for k, v in settings.items())
            + "."
        )
        meta = gen.ensure("partnership", "postgresql", fresh=args.fresh)
        report.data["partnership (PostgreSQL)"] = meta
        bench_database(report, "partnership", "postgresql", meta, args.quick)
        if args.skip_region:
            report.notes.append("The region was skipped (`--skip-region`).")
        else:
            meta = gen.ensure("region", "postgresql", fresh=args.fresh)
            report.data["region (PostgreSQL)"] = meta
            bench_database(report, "region", "postgresql", meta, args.quick)
    if args.quick:
        report.notes.append("A quick run (`--quick`): 1 warm-up and 5 runs each; not for comparing.")
    return _finish(report, args, started)


def _finish(report: Report, args: argparse.Namespace, started: float) -> int:
    """Write the results; 1 if a page failed or an aggregate's numbers differed from its SQL (a missed target
    is a result, not a failure), else 0."""
    text = write_markdown(report, time.perf_counter() - started)
    output = Path(args.output or (SMOKE_RESULTS if args.size == "smoke" else RESULTS))
    if output == RESULTS and (load := kept_section(RESULTS)):
        text = text.rstrip("\n") + "\n\n" + load  # `make load`'s section is its own: kept as it was
    output.write_text(text, encoding="utf-8")
    print(
        f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output} in {(time.perf_counter() - started) / 60:.1f} min"
    )
    failed = [f"{r.measurement} on {r.database}: {r.note}" for r in report.results if r.verdict == "ERROR"]
    failed += [f"{r.aggregate} on {r.database}: {r.detail}" for r in report.ratios if not r.equal]
    for line in failed:
        print(f"FAILED: {line}", file=sys.stderr)
    return 1 if failed else 0


def _postgresql() -> str | None:
    """None when PostgreSQL answers (starting the local cluster if it is ours to start), else why not."""
    why = gen.pg_available()
    if why is None or os.environ.get("BENCH_PG_URL"):
        return why
    ctl = shutil.which("pg_ctlcluster")
    versions = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").exists() else []
    if ctl and versions:
        version = versions[-1].parent.name
        print(f"PostgreSQL not answering ({why}); starting cluster {version}/main", flush=True)
        subprocess.run([ctl, "--skip-systemctl-redirect", version, "main", "start"], check=False, capture_output=True)  # noqa: S603  (a fixed local command)
        for _ in range(20):
            time.sleep(0.5)
            if gen.pg_available() is None:
                return None
        return gen.pg_available()
    return why


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--export-child"]:
        url, partnership_id, theme_id, out = argv[1:5]
        export_child(url, int(partnership_id), int(theme_id) or None, out)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size",
        choices=("full", "smoke"),
        default="full",
        help="full: the partnership on SQLite and PostgreSQL and the region on PostgreSQL (default); smoke: the "
        "smallest data on SQLite only, 5 runs each, results to a temporary file (CI: make bench-smoke)",
    )
    parser.add_argument("--fresh", action="store_true", help="regenerate every database")
    parser.add_argument("--skip-postgresql", action="store_true", help="SQLite only")
    parser.add_argument("--skip-region", action="store_true", help="no region database (PostgreSQL partnership only)")
    parser.add_argument("--quick", action="store_true", help="few repetitions, for checking the bench itself")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=None,
        help="seconds to wait for an idle machine before each database (default 600; 0 with --size smoke)",
    )
    parser.add_argument(
        "--output",
        default=None,
        help=f"where to write the results (default bench/results.md; with --size smoke {SMOKE_RESULTS})",
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
