"""The self-assessment report benchmark: the heatmap of a schools s175 round of about 150 settings.

It builds a fresh SQLite database with the application's migrations, one partnership with 150 education
settings and 10 other agencies, and a round of the shipped schools s175 questionnaire to all 160: 140 return
through the services (ratings drawn at random, some not applicable, some left unanswered, one in ten criteria
moderated), 6 decline, 4 send another template, 10 are outstanding. Then it times, as a QA member:

* ``build_report`` (the queries and the pure aggregation behind every output);
* ``GET /rounds/<id>/self-assessment/report`` (the page, through the Flask test client);
* the XLSX of the report;
* the board's PDF as the job draws it (CPU, one drawing).

Results go to bench/results-sa-report.md (or ``--output``).

Usage: ``.venv/bin/python bench/sa_heatmap.py [--runs 10] [--output PATH]`` (a minute or two, most of it
saving the returns).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results-sa-report.md"
SETTINGS = 150
#: the page's target, as the findings pages' (bench/run.py PAGE_P95_TARGET is 150 ms for a round's findings)
PAGE_TARGET_SECONDS = 1.0


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


def _build(rng: random.Random) -> tuple[int, int, dict[str, int]]:
    """The partnership, settings and round; (round id, QA member's user id, counts by outcome)."""
    import sqlalchemy as sa

    from audit_app.accounts import services as accounts
    from audit_app.accounts.models import Role, Sector
    from audit_app.extensions import db
    from audit_app.questionnaires import services as questionnaires
    from audit_app.questionnaires.models import QuestionType
    from audit_app.rounds import services
    from audit_app.rounds.models import Answer, Return, RoundStatus

    partnership = accounts.create_partnership("Bench Partnership")
    sectors = {s.key: s for s in db.session.scalars(sa.select(Sector).where(Sector.partnership_id == partnership.id))}
    links = [accounts.create_agency(partnership.id, f"Setting {n:03d}", sectors["education"]) for n in range(SETTINGS)]
    links += [accounts.create_agency(partnership.id, f"Agency {n:02d}", sectors["health"]) for n in range(10)]
    qa, _ = accounts.create_user(partnership.id, email="qa@bench.example.org", name="QA", role=Role.QA_MEMBER)
    lead, _ = accounts.create_user(
        partnership.id, email="lead@bench.example.org", name="Lead", role=Role.AGENCY_LEAD, agency_id=links[0].agency_id
    )
    spec = next(item["data"] for item in questionnaires.library() if item["key"] == "schools_s175_self_assessment")
    version = questionnaires.import_questionnaire(partnership.id, spec, publish=True)
    round_ = services.plan_round(
        partnership.id,
        title="Schools s175, bench",
        version=version,
        opens_on=None,
        due_on=None,
        agency_ids=[link.agency_id for link in links],
    )
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    returns = list(db.session.scalars(sa.select(Return).where(Return.round_id == round_.id).order_by(Return.id)))
    outcomes = {"returned": 0, "declined": 0, "alternative": 0, "outstanding": 0}
    for index, ret in enumerate(returns):
        if index < 140:
            answers = {}
            for question in services.applicable_questions(ret):
                if question.type == QuestionType.SCALE:
                    if not question.is_required and rng.random() < 0.05:
                        continue  # unanswered
                    levels = question.scale.levels
                    answers[question.key] = rng.choices(levels, weights=[6, 3, 1, 1][: len(levels)])[0].label
                elif question.type == QuestionType.SINGLE_CHOICE:
                    answers[question.key] = next(o for o in question.options if o not in question.concern_values)
                elif question.type == QuestionType.MULTIPLE_CHOICE:
                    answers[question.key] = [question.options[0]]
                elif question.is_required:
                    answers[question.key] = {QuestionType.NUMBER: "1", QuestionType.DATE: "2026-01-05"}.get(
                        question.type, "Policy and minutes"
                    )
            services.save_answers(ret, answers, by=lead, expected_version=ret.lock_version)
            services.submit_return(ret, by=lead, as_lead=True)
            outcomes["returned"] += 1
        elif index < 146:
            services.decline_return(ret, by=qa, reason="Not this year")
            outcomes["declined"] += 1
        elif index < 150:
            services.record_alternative_template(ret, by=qa, note="The academy trust's own form")
            outcomes["alternative"] += 1
        else:
            outcomes["outstanding"] += 1
        if index % 20 == 19:
            db.session.commit()
            print(f"  {index + 1} returns...", file=sys.stderr, flush=True)
    # one in ten rated criteria moderated to the level below
    rated = db.session.scalars(sa.select(Answer).where(Answer.scale_level_id.is_not(None))).all()
    for answer in rated:
        if rng.random() < 0.1:
            levels = answer.question.scale.levels
            position = next(i for i, level in enumerate(levels) if level.id == answer.scale_level_id)
            answer.moderated_level_id = levels[min(position + 1, len(levels) - 1)].id
    db.session.commit()
    return round_.id, qa.id, outcomes


def _timed(runs: int, work) -> dict[str, float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return {"median": statistics.median(timings), "max": max(timings)}


def measure(runs: int) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="sa-report-bench-"))
    # before the app's config is imported: it reads the database's URL once
    os.environ.setdefault("APP_ENV", "development")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"
    os.environ["FILE_STORAGE_DIR"] = str(workdir / "files")

    import flask_migrate

    from audit_app import create_app
    from audit_app.core.audit import system_actor
    from audit_app.extensions import db
    from audit_app.reporting.report import draw_pdf
    from audit_app.reporting.sa_files import summary_html
    from audit_app.reporting.self_assessments import build_report, report_xlsx
    from audit_app.rounds.models import Round

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    results: dict[str, object] = {}
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
        print("building the round...", file=sys.stderr, flush=True)
        with system_actor("bench:sa-report"):
            round_id, qa_id, outcomes = _build(random.Random(2026))
        results["outcomes"] = outcomes
        round_ = db.session.get(Round, round_id)
        partnership_id = round_.partnership_id
        report = build_report(round_, partnership_id)
        results["rows"] = len(report.tables["sa_heatmap"].rows)
        results["standards"] = len(report.standards)
        print("timing...", file=sys.stderr, flush=True)
        results["build_report"] = _timed(runs, lambda: build_report(db.session.get(Round, round_id), partnership_id))
        results["xlsx"] = _timed(
            runs, lambda: report_xlsx(build_report(db.session.get(Round, round_id), partnership_id))
        )

        from audit_app.accounts.models import User

        qa_user_id = db.session.get(User, qa_id).get_id()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = qa_user_id
            session["_fresh"] = True
            session["partnership_id"] = partnership_id

        def page() -> None:
            response = client.get(f"/rounds/{round_id}/self-assessment/report")
            assert response.status_code == 200, response.status_code

        page()  # warm-up
        results["page"] = _timed(runs, page)
        with app.test_request_context():
            started = time.process_time()
            html = summary_html(build_report(db.session.get(Round, round_id), partnership_id))
            db.session.rollback()
            _, pages = draw_pdf(html)
            results["pdf"] = {"cpu": time.process_time() - started, "pages": pages}
    return results


def write_markdown(results: dict, runs: int, elapsed: float) -> str:
    now = datetime.now(UTC)
    outcomes = results["outcomes"]
    page = results["page"]
    met = page["median"] < PAGE_TARGET_SECONDS
    lines = [
        "# The self-assessment report: a schools round of about 150 settings",
        "",
        f"Run on {now:%-d %B %Y at %H:%M} UTC by `bench/sa_heatmap.py` in {elapsed / 60:.1f} minutes, on "
        f"`{_git_head()}`; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite.",
        "",
        f"The round: the shipped schools s175 questionnaire ({results['standards']} standards with criteria) sent to "
        f"{SETTINGS} education settings and 10 other agencies: {outcomes['returned']} returned, {outcomes['declined']} "
        f"declined, {outcomes['alternative']} on another template, {outcomes['outstanding']} outstanding; one in ten "
        f"rated criteria moderated. The heatmap has {results['rows']} rows (agency x standard). Times are wall clock, "
        f"median of {runs} (max beside it).",
        "",
        "| measurement | median (s) | max (s) |",
        "|---|---:|---:|",
        f"| `build_report` (queries and aggregation) | {results['build_report']['median']:.3f} | "
        f"{results['build_report']['max']:.3f} |",
        f"| the report page, as a QA member | {page['median']:.3f} | {page['max']:.3f} |",
        f"| the XLSX (built from scratch) | {results['xlsx']['median']:.3f} | {results['xlsx']['max']:.3f} |",
        "",
        f"The board's PDF, as the job draws it: {results['pdf']['pages']} pages, {results['pdf']['cpu']:.2f} s of CPU "
        "(one drawing, in a process that had drawn none).",
        "",
        f"Target: the page under {PAGE_TARGET_SECONDS:.0f} s: **{'met' if met else 'missed'}**.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each measurement (default 10)")
    parser.add_argument("--output", help="where to write the results (default bench/results-sa-report.md)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = measure(args.runs)
    text = write_markdown(results, args.runs, time.monotonic() - started)
    Path(args.output or RESULTS).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
