"""The chair's report PDF benchmark: the CPU it takes to draw a 20-case round's PDFs, as a worker draws them.

It builds a fresh SQLite database with the application's migrations and the demo data (whose reported
"CSE multi-agency case audit, autumn 2025" has 20 cases, 2 to 4 agencies each, every return accepted and
judged, and a written chair's report), then draws each kind of PDF in one process, as an RQ worker would:
the first drawing (a cold process: fonts and WeasyPrint's style sheets loaded) and the median of the
next five. CPU is ``time.process_time()`` of the whole job's work (building the HTML from the database,
layout and writing the PDF). Results go to bench/results-report.md (or ``--output``).

Usage: ``.venv/bin/python bench/report_pdf.py [--runs 5] [--output PATH]`` (about two minutes, most of
it loading the demo).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results-report.md"
ROUND_TITLE = "CSE multi-agency case audit, autumn 2025"
#: the issue's target for the chair's report of a 20-case round
TARGET_SECONDS = 3.0


def _git_head() -> str:
    try:
        return subprocess.run(  # noqa: S603 - a fixed command
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()[:100]
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure(runs: int) -> dict[str, dict[str, float]]:
    """For each kind: pages, the cold drawing's CPU and the median of ``runs`` warm ones (seconds)."""
    import flask_migrate
    import sqlalchemy as sa

    from audit_app import create_app
    from audit_app.core.audit import system_actor
    from audit_app.core.demo import load_demo
    from audit_app.extensions import db
    from audit_app.reporting.models import ReportKind
    from audit_app.reporting.report import draw_pdf, round_report_html
    from audit_app.rounds.models import Round

    workdir = Path(tempfile.mkdtemp(prefix="report-bench-"))
    os.environ.setdefault("APP_ENV", "development")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"
    os.environ["FILE_STORAGE_DIR"] = str(workdir / "files")
    app = create_app()
    results: dict[str, dict[str, float]] = {}
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()  # the migration's connection is done with
        print("loading the demo...", file=sys.stderr, flush=True)
        with system_actor("bench:report"):
            load_demo()
            db.session.commit()
        round_id = db.session.scalar(sa.select(Round.id).where(Round.title == ROUND_TITLE))
        cases = len(db.session.get(Round, round_id).cases)
        print(f"drawing the PDFs of a {cases}-case round...", file=sys.stderr, flush=True)
        for kind in ReportKind:
            timings = []
            pages = 0
            for _ in range(runs + 1):
                with app.test_request_context():
                    round_ = db.session.get(Round, round_id)
                    started = time.process_time()
                    html = round_report_html(round_, kind=kind)
                    db.session.rollback()
                    _, pages = draw_pdf(html)
                    timings.append(time.process_time() - started)
            results[kind.value] = {
                "cases": cases,
                "pages": pages,
                "cold": timings[0],
                "warm": statistics.median(timings[1:]),
                "max": max(timings[1:]),
            }
    return results


def write_markdown(results: dict[str, dict[str, float]], runs: int, elapsed: float) -> str:
    labels = {"report": "The chair's report", "full": "The full report (with appendices)", "briefing": "The briefing"}
    now = datetime.now(UTC)
    lines = [
        "# The round's PDFs: CPU to draw them",
        "",
        f"Run on {now:%-d %B %Y at %H:%M} UTC by `bench/report_pdf.py` in {elapsed / 60:.1f} minutes, on "
        f"`{_git_head()}`; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}.",
        "",
        f"The round: the demo's *{ROUND_TITLE}* ({results['report']['cases']:.0f} cases, 2 to 4 agencies each, every "
        "return accepted and judged, the chair's report written). CPU is `time.process_time()` for building the "
        "HTML from the database and WeasyPrint's layout and writing: what the job costs a worker. *Cold* is the "
        f"first drawing in a fresh process; *warm* the median of the next {runs} (max beside it).",
        "",
        "| PDF | pages | cold (s CPU) | warm (s CPU) | warm max |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, row in results.items():
        lines.append(
            f"| {labels[kind]} | {row['pages']:.0f} | {row['cold']:.2f} | {row['warm']:.2f} | {row['max']:.2f} |"
        )
    report = results["report"]
    met = report["cold"] < TARGET_SECONDS
    lines += [
        "",
        f"Target: the chair's report of a 20-case round under {TARGET_SECONDS:.0f} s of CPU: "
        f"**{'met' if met else 'missed'}** ({report['cold']:.2f} s cold, {report['warm']:.2f} s warm), "
        f"in {report['pages']:.0f} pages (target: under 20). Before this change the one report of such a round "
        "took 12 to 16 s of CPU inside the web request; now a job draws it (on an RQ worker in production, never in a web request there).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm drawings of each PDF (default 5)")
    parser.add_argument("--output", help="where to write the results (default bench/results-report.md)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = measure(args.runs)
    text = write_markdown(results, args.runs, time.monotonic() - started)
    Path(args.output or RESULTS).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
