"""The load test: gunicorn (4 workers) on PostgreSQL with jobs on RQ, driven by locust; results in bench/results.md.

Usage: ``make load`` (``make load USERS=10 DURATION=20s`` for a short trial), or
``.venv/bin/python bench/load/run.py [--users 50] [--duration 2m] [--output FILE]``.

1. recreates the PostgreSQL database (``audit_load`` by default), migrates it (``flask db upgrade``), loads the
   demo (``flask demo load``), opens the load round (``bench/load/prepare.py``, through the app's services) and
   ``VACUUM ANALYZE``s it;
2. starts gunicorn with deploy/gunicorn.conf.py (4 workers of 8 threads) on a free port of 127.0.0.1 and one RQ worker (``flask jobs worker``),
   both with the production settings (``APP_ENV=production``), ``REDIS_URL`` set and a job queue of this run's
   own;
3. runs ``locust --headless -u USERS -r 10 -t DURATION`` on ``bench/load/locustfile.py``, keeping every
   request's time;
4. stops locust, gunicorn and the worker (also after a failure or Ctrl-C), reads how long each PDF job took
   from the ``report_files`` rows, and writes the "Load test" section of bench/results.md (other sections are
   left alone). A run with other users or duration than the full one writes to a temporary file instead,
   unless ``--output`` says where.

Exits 1 when the run could not be made (a server that did not start, locust that did not run); missed targets
are results, written down, not failures.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results.md"
TRIAL_RESULTS = Path(tempfile.gettempdir()) / "audit-load-results.md"
#: the heading of this script's section of results.md; everything from it to the next "## " heading is replaced
HEADING = "## Load test"
FULL_USERS, FULL_DURATION = 50, "2m"
PAGE_P95_TARGET_MS = 300
PDF_REQUEST_TARGET_MS = 1000
#: shown where there is no figure
NONE = "\u2013"


@dataclass
class Timing:
    """One request as locust saw it."""

    kind: str  # GET, POST or JOB
    name: str
    ms: float
    ok: bool


def category(t: Timing) -> str:
    """page (an HTML page), form (a POST), file (a download), job (a PDF from asking to ready)."""
    if t.kind == "JOB":
        return "job"
    if t.kind == "POST":
        return "form"
    if t.name.startswith(("Export", "PDF: download")):
        return "file"
    return "page"


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..100) of ``values``, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}) before answering on port {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port} after {seconds:.0f} s")


def warm_up(port: int, workers: int, seconds: float = 120) -> None:
    """Wait until the workers have booted: /healthz answers quickly ``2 * workers`` times in a row."""
    deadline = time.monotonic() + seconds
    quick = 0
    while quick < 2 * workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"/healthz did not answer quickly after {seconds:.0f} s")
        began = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
                fast = response.status == 200 and time.monotonic() - began < 0.5
        except OSError:
            fast = False
        quick = quick + 1 if fast else 0
        if not fast:
            time.sleep(0.5)


def stop(process: subprocess.Popen, name: str) -> None:
    """SIGTERM (gunicorn and RQ finish their work in hand), then SIGKILL after 20 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop in 20 s: killed")
        process.kill()
        process.wait()


def recreate_database(server_url: str, name: str) -> str:
    """Drop and create ``name`` on the server; its URL."""
    url = sa.engine.make_url(server_url).set(drivername="postgresql+psycopg")
    maintenance = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    finally:
        maintenance.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def analyze(database_url: str) -> None:
    """``VACUUM ANALYZE`` the freshly loaded database, as autovacuum does to a database in service: the planner
    then knows how many rows each table has (a server with autovacuum off would otherwise plan every query
    of the run for empty tables)."""
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()


def gunicorn_settings() -> dict:
    """deploy/gunicorn.conf.py's worker class and threads, for the method text."""
    import runpy

    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    return {"worker_class": conf.get("worker_class", "sync"), "threads": conf.get("threads", 1)}


def run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    """Run a set-up command, its output to ``log``; stop the run if it fails."""
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        if subprocess.run(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False).returncode:
            raise SystemExit(f"`{' '.join(cmd)}` failed: see {log}")


def pdf_jobs(database_url: str, since: datetime) -> list[dict]:
    """The round PDFs drawn during the run: status, seconds from being asked for to finished, CPU seconds."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT kind, suppressed, status, requested_at, finished_at, cpu_seconds, pages "
                    "FROM report_files WHERE requested_at >= :since ORDER BY requested_at"
                ),
                {"since": since},
            ).mappings()
            return [
                {
                    **row,
                    "seconds": (row["finished_at"] - row["requested_at"]).total_seconds()
                    if row["finished_at"]
                    else None,
                }
                for row in rows
            ]
    finally:
        engine.dispose()


def fmt(ms: float | None) -> str:
    return NONE if ms is None else f"{ms:,.0f}"


def _seconds(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}"


def held(ok: bool) -> str:
    return "**held**" if ok else "**missed**"


def write_section(output: Path, section: str) -> None:
    """Put ``section`` in ``output`` in place of its "Load test" section (or at its end); the rest unchanged."""
    text = output.read_text(encoding="utf-8") if output.exists() else ""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(HEADING)), None)
    if start is None:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        text = "".join(lines[:start]) + section + ("\n" + "".join(lines[end:]) if end < len(lines) else "")
    output.write_text(text, encoding="utf-8")


def kept_section(path: Path) -> str:
    """The "Load test" section of ``path`` (empty if none): bench/run.py carries it over when it rewrites."""
    if not path.exists():
        return ""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(HEADING)), None)
    if start is None:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[start:end]).rstrip("\n") + "\n"


def section(args: argparse.Namespace, timings: list[Timing], jobs: list[dict], meta: dict) -> str:
    """The results section, in Markdown."""
    trial = (args.users, args.duration) != (FULL_USERS, FULL_DURATION)
    total = len(timings)
    failures = sum(not t.ok for t in timings)
    pages = [t.ms for t in timings if category(t) == "page"]
    page_p95 = percentile(pages, 95)
    asks = [t.ms for t in timings if t.name == "PDF: ask for it (queued)"]
    ask_max = max(asks) if asks else None
    error_rate = failures / total if total else None
    drawn = [j for j in jobs if j["seconds"] is not None]
    out = [
        f"{HEADING}{' (TRIAL, not the measurement)' if trial else ''}\n\n",
        f"Run on {meta['started']:%-d %B %Y} at {meta['started']:%H:%M} UTC by `make load` (`bench/load/run.py`): "
        f"{args.users} simulated users for {args.duration} (spawned {args.spawn_rate:g} a second), "
        f"{meta['cores']} CPU cores (`nproc`), Python {platform.python_version()}, PostgreSQL "
        f"{meta['postgresql']}, locust {meta['locust']}, code `{meta['commit']}`. How to run it and what the mix "
        "is: [bench/README.md](README.md#the-load-test-make-load).\n\n",
    ]
    if trial:
        out.append(
            "A shortened trial run: its figures show that the script works, not how the service holds 50 users. "
            "Run `make load` on a quiet machine for the measurement.\n\n"
        )
    out += [
        "**Method.** A fresh PostgreSQL database, migrated, with the demo and one more open case-audit round "
        f"({meta['cases']} cases, each read by the police and the hospital trust: {2 * meta['cases']} returns) "
        "made through the application's services, then `VACUUM ANALYZE`d (what autovacuum does to a database in "
        "service, so the planner knows the tables' sizes). gunicorn with "
        f"{args.workers} {meta['gunicorn']['worker_class']} workers"
        + (f" of {meta['gunicorn']['threads']} threads each" if meta["gunicorn"]["worker_class"] == "gthread" else "")
        + " on 127.0.0.1 with the production settings (`APP_ENV=production`, `deploy/gunicorn.conf.py`), one RQ "
        "worker (`flask jobs worker`), both on the same PostgreSQL and Redis; locust on the same machine "
        f"(so it shares the {meta['cores']} cores), each user pausing {args.wait.replace(',', ' to ')} s between "
        "tasks (a brisk pace: a person reads a page for longer). Every request checks its status and that it got "
        "the expected page (signed in, the right heading, the flash message after a change, the file type), so "
        "anything else counts as a failure. Sign-in limits are the production defaults (10 failed sign-ins a "
        "minute, 50 an hour, per address and per account): only failed sign-ins count towards them, and every "
        "simulated sign-in succeeds, so no setting was changed for the run. The session cookie is Secure (as in "
        "production); the test client sends it over plain HTTP on loopback, standing in for the TLS proxy.\n\n",
        "| target | figure | |\n|---|---|---|\n",
        f"| error rate 0 | {failures} failed of {total:,} requests"
        f"{f' ({error_rate:.2%})' if error_rate else ''} | {held(failures == 0)} |\n",
        f"| pages: p95 under {PAGE_P95_TARGET_MS} ms | p95 {fmt(page_p95)} ms over {len(pages):,} page requests | "
        f"{held(page_p95 is not None and page_p95 < PAGE_P95_TARGET_MS)} |\n",
        f"| a PDF holds a web worker under {PDF_REQUEST_TARGET_MS / 1000:.0f} s (the request only queues it) | "
        f"p95 {fmt(percentile(asks, 95))} ms, max {fmt(ask_max)} ms over {len(asks)} requests | "
        f"{held(ask_max is not None and ask_max < PDF_REQUEST_TARGET_MS) if asks else 'not exercised'} |\n\n",
        "Pages are the HTML pages (GET); forms (POST: sign-in, saves, submissions, accepting, asking for a PDF), "
        "downloads (spreadsheets and PDFs) and the PDF jobs are shown apart. Times in milliseconds.\n\n",
        "| request | kind | requests | failures | median | p95 | p99 | max |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
    ]
    names = sorted(
        {(category(t), t.name) for t in timings}, key=lambda cn: (["page", "form", "file", "job"].index(cn[0]), cn[1])
    )
    for cat, name in names:
        ms = [t.ms for t in timings if t.name == name]
        fails = sum(not t.ok for t in timings if t.name == name)
        out.append(
            f"| {name} | {cat} | {len(ms):,} | {fails} | {fmt(percentile(ms, 50))} | {fmt(percentile(ms, 95))} | "
            f"{fmt(percentile(ms, 99))} | {fmt(max(ms))} |\n"
        )
    for cat in ("page", "form", "file"):
        ms = [t.ms for t in timings if category(t) == cat]
        if ms:
            out.append(
                f"| **all {cat}s** | | {len(ms):,} | {sum(not t.ok for t in timings if category(t) == cat)} | "
                f"{fmt(percentile(ms, 50))} | {fmt(percentile(ms, 95))} | {fmt(percentile(ms, 99))} | {fmt(max(ms))} |\n"
            )
    out.append(
        f"\nThroughput: {total / meta['seconds']:.1f} requests a second over the {meta['seconds']:.0f} s of load. "
        "*PDF: asked for until ready* is the time a simulated person waited from asking for a PDF to seeing its "
        "download link, the report page refreshing itself every 5 s meanwhile (so rounded up to the next refresh); "
        "a PDF still being drawn when the run ends is not counted there, but is in the jobs below.\n\n"
    )
    out.append(
        "**The PDF jobs** (from the `report_files` rows: asked for to finished, and the worker's CPU). A PDF "
        "already drawn for the round as it stands is kept and not drawn again, so most requests for a PDF find it "
        "ready or being drawn.\n\n"
    )
    if jobs:
        seconds = [j["seconds"] for j in drawn]
        cpu = [j["cpu_seconds"] for j in drawn if j["cpu_seconds"] is not None]
        out.append(
            f"{len(jobs)} drawn ({sum(j['status'] == 'ready' for j in jobs)} ready, "
            f"{sum(j['status'] == 'failed' for j in jobs)} failed, {len(jobs) - len(drawn)} not finished); "
            f"asked for to finished: median {fmt(percentile(seconds, 50) and percentile(seconds, 50) * 1000)} ms, "
            f"max {fmt(max(seconds) * 1000 if seconds else None)} ms; worker CPU: median "
            f"{fmt(percentile(cpu, 50) and percentile(cpu, 50) * 1000)} ms, max {fmt(max(cpu) * 1000 if cpu else None)} ms.\n\n"
        )
        out.append(
            "| PDF | names hidden | status | pages | asked for to finished (s) | worker CPU (s) |\n|---|---|---|---:|---:|---:|\n"
        )
        for j in jobs:
            out.append(
                f"| {j['kind']} | {'yes' if j['suppressed'] else 'no'} | {j['status']} | {j['pages'] or NONE} | "
                f"{_seconds(j['seconds'])} | "
                f"{_seconds(j['cpu_seconds'])} |\n"
            )
        out.append("\n")
    else:
        out.append("No PDF was drawn during the run.\n\n")
    failed_names = meta.get("failures") or []
    if failed_names:
        out.append("**Failures** (locust's failures file):\n\n| request | error | count |\n|---|---|---:|\n")
        out += [f"| {f['Name']} | {f['Error'][:200].replace('|', '/')} | {f['Occurrences']} |\n" for f in failed_names]
        out.append("\n")
    return "".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=int(os.environ.get("USERS") or FULL_USERS))
    parser.add_argument(
        "--duration", default=os.environ.get("DURATION") or FULL_DURATION, help="locust's -t, e.g. 2m, 20s"
    )
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--wait", default="2,6", help="seconds a user pauses between tasks: low,high")
    parser.add_argument(
        "--cases", type=int, default=None, help="cases in the load round (default 6 per user, at least 100)"
    )
    parser.add_argument("--database", default="audit_load", help="the PostgreSQL database, dropped and recreated")
    parser.add_argument("--pg-url", default=os.environ.get("LOAD_PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--redis-url", default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="CLASS",
        help="run only these users of the locustfile (Admin, QAMember...)",
    )
    parser.add_argument("--output", help=f"where to write (default bench/results.md; a trial run {TRIAL_RESULTS})")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupted)  # stop the servers on `kill` too, as on Ctrl-C
    cases = args.cases or max(100, 6 * args.users)
    trial = (args.users, args.duration) != (FULL_USERS, FULL_DURATION)
    output = Path(args.output) if args.output else (TRIAL_RESULTS if trial else RESULTS)
    work = Path(tempfile.mkdtemp(prefix="audit-load-"))
    log = work / "setup.log"
    print(f"load test: {args.users} users for {args.duration}; logs and CSV in {work}")

    database_url = recreate_database(args.pg_url, args.database)
    # the production defaults, sign-in limits included, whatever this shell sets
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "FLASK_", "JOBS_", "LOGIN_", "APP_"))}
    env |= {
        "APP_ENV": "production",
        "FLASK_APP": "wsgi",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "JOBS_QUEUE": f"load-{os.getpid()}",  # this run's own queue: no stale jobs, no other worker's
        "FILE_STORAGE_DIR": str(work / "files"),
        "PYTHONPATH": str(ROOT),
    }
    print("preparing the database (migrations, demo, load round)...")
    setup_env = env | {"JOBS_INLINE": "1"}  # the set-up's own emails (logged) are not the run's jobs
    run([str(BIN / "flask"), "db", "upgrade"], setup_env, log)
    run([str(BIN / "flask"), "demo", "load"], setup_env, log)
    plan = work / "plan.json"
    run([str(BIN / "python"), "bench/load/prepare.py", "--cases", str(cases), "--out", str(plan)], setup_env, log)
    analyze(database_url)

    port = free_port()
    timings_file = work / "timings.json"
    started = datetime.now(UTC)
    with ExitStack() as stack:
        server_log = stack.enter_context((work / "gunicorn.log").open("w"))
        server = subprocess.Popen(
            # the production settings (deploy/gunicorn.conf.py), on this run's port and worker count
            [
                str(BIN / "gunicorn"),
                "--config",
                "deploy/gunicorn.conf.py",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            env=env,
            cwd=ROOT,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(stop, server, "gunicorn")
        worker_log = stack.enter_context((work / "worker.log").open("w"))
        worker = subprocess.Popen(
            # at a lower CPU priority than the web processes, as deploy/systemd/audit-app-worker.service runs it
            ["nice", "-n", "10", str(BIN / "flask"), "--app", "wsgi", "jobs", "worker"],
            env=env,
            cwd=ROOT,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(stop, worker, "RQ worker")
        wait_for_port(port, server)
        warm_up(port, args.workers)
        print(
            f"gunicorn on 127.0.0.1:{port} ({args.workers} workers), RQ worker on queue {env['JOBS_QUEUE']}; running locust..."
        )
        began = time.perf_counter()
        locust = subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                "bench/load/locustfile.py",
                "--headless",
                "--only-summary",
                "-u",
                str(args.users),
                "-r",
                f"{args.spawn_rate:g}",
                "-t",
                args.duration,
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(work / "locust"),
                "--stop-timeout",
                "30",
                *args.only,
            ],
            env=env | {"LOAD_PLAN": str(plan), "LOAD_WAIT": args.wait, "LOAD_TIMINGS": str(timings_file)},
            cwd=ROOT,
            stdout=stack.enter_context((work / "locust.log").open("w")),
            stderr=subprocess.STDOUT,
            check=False,
        )
        seconds = min(time.perf_counter() - began, _seconds_of(args.duration))
        time.sleep(2)  # a PDF job still running finishes (or shows as not finished)
    if not timings_file.exists():
        print(f"locust did not run (exit {locust.returncode}): see {work / 'locust.log'}")
        return 1
    timings = [Timing(*row) for row in json.loads(timings_file.read_text(encoding="utf-8"))]
    failures_csv = work / "locust_failures.csv"
    with failures_csv.open(encoding="utf-8") if failures_csv.exists() else open(os.devnull) as f:
        failures = list(csv.DictReader(f))
    meta = {
        "started": started,
        "seconds": seconds,
        "cases": cases,
        "cores": subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip(),
        "postgresql": _server_version(database_url),
        "locust": subprocess.run(
            [str(BIN / "locust"), "--version"], capture_output=True, text=True, check=False
        ).stdout.split()[1],
        "commit": subprocess.run(
            ["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True, cwd=ROOT, check=False
        ).stdout.strip()[:90],
        "failures": failures,
        "gunicorn": gunicorn_settings(),
    }
    write_section(output, section(args, timings, pdf_jobs(database_url, started), meta))
    print(f"wrote the load test section of {output}; locust's CSV and logs in {work}")
    return 0


def _seconds_of(duration: str) -> float:
    """Seconds in a locust duration such as "2m", "90s" or "1m30s"."""
    units = {"h": 3600, "m": 60, "s": 1}
    total, number = 0.0, ""
    for char in duration.strip():
        if char.isdigit() or char == ".":
            number += char
        else:
            total, number = total + float(number) * units[char], ""
    return total + (float(number) if number else 0)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _server_version(database_url: str) -> str:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SHOW server_version").scalar().split()[0]
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
