"""The load test's simulated people: the demo's roles doing what each does most, at a brisk pace.

Run by ``bench/load/run.py`` (``make load``), which prepares the database and the plan this file reads
(``LOAD_PLAN``, a JSON file from ``bench/load/prepare.py``). Every user signs in through the sign-in form as
a demo person (several simulated users share an account, each with a session of its own), then repeats its
role's tasks with a pause of ``LOAD_WAIT`` seconds ("2,6" by default) between them:

* auditors (police and hospital trust) work through returns of the load round: My returns, a return's task
  list, each section opened and saved, the answers checked, the return submitted (it then waits for the
  police lead's sign-off);
* the police agency lead signs off the returns the police auditors finished, or fills one in themself;
* QA group members read the findings (round, agencies, free text, re-audit, theme trend), the case
  discussions and submitted returns, and accept the returns the lead signed off;
* admins look at the home page, rounds, the action plan and its spreadsheet, the answers export, reviews,
  and now and then ask for one of the reported rounds' PDFs (a job on RQ), polling the report page until it
  is ready and downloading it;
* the scrutineer reads findings, reviews, the action plan and the audit log.

Each request checks its status and that the page is the expected one (signed in, the right heading or
file type, the right flash message after a change), so anything else counts as a failure. The sign-in
cookie is marked Secure (production settings); the test talks plain HTTP on loopback, as a TLS proxy
would, so the client keeps them as plain cookies, sent over HTTP to 127.0.0.1.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from collections import deque
from html.parser import HTMLParser
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from requests.cookies import RequestsCookieJar

from audit_app.accounts.demo import DEMO_PASSWORD

EMAIL = "{}@northbridge.example.org"
PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
_low, _high = (float(x) for x in os.environ.get("LOAD_WAIT", "2,6").split(","))
WAIT = between(_low, _high)
#: the report page refreshes itself this often while a PDF is being prepared (its meta refresh)
REFRESH = 5
#: how long a PDF may take from being asked for to being ready before the request counts as failed
PDF_READY_TIMEOUT = float(os.environ.get("LOAD_PDF_TIMEOUT", "120"))

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SIGNED_IN = "Sign out</button>"

# Shared between the simulated users (one process, gevent): returns are handed out once each.
POOLS = {agency: deque(ids) for agency, ids in PLAN["returns"].items()}
READY_FOR_SIGN_OFF: deque[int] = deque()
SUBMITTED: deque[int] = deque()
_auditors = itertools.cycle(["auditor.police", "auditor.health"])


#: every request's (type, name, milliseconds, succeeded), written to LOAD_TIMINGS when locust stops
_timings: list[tuple[str, str, float, bool]] = []


@events.request.add_listener
def _keep(request_type: str, name: str, response_time: float, exception: Exception | None, **_: Any) -> None:
    _timings.append((request_type, name, response_time, exception is None))


@events.quitting.add_listener
def _write(**_: Any) -> None:
    if os.environ.get("LOAD_TIMINGS"):
        Path(os.environ["LOAD_TIMINGS"]).write_text(json.dumps(_timings), encoding="utf-8")


class _LoopbackJar(RequestsCookieJar):
    """Keeps the app's Secure cookies as plain ones, so they are sent over HTTP on loopback (the TLS proxy in
    front of production is not part of the test)."""

    def set_cookie(self, cookie: Cookie, *args: Any, **kwargs: Any) -> None:
        cookie.secure = False
        super().set_cookie(cookie, *args, **kwargs)


class _Form(HTMLParser):
    """The fields of the first form holding a ``then`` button (a return section), or of every form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[dict[str, str]]] = {}
        self.kinds: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name.startswith("q-"):
            self.kinds.setdefault(name, a.get("type", "text"))
            self.fields.setdefault(name, []).append(a)
        elif tag == "textarea" and name.startswith("q-"):
            self.kinds[name] = "textarea"
            self.fields.setdefault(name, [])
        elif tag == "select" and name.startswith("q-"):
            self.kinds[name] = "select"
            self._select = name
            self.fields.setdefault(name, [])
        elif tag == "option" and self._select:
            self.fields[self._select].append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def answers_for(html: str) -> dict[str, str | list[str]]:
    """A plausible answer for every question on a return section page."""
    form = _Form()
    form.feed(html)
    data: dict[str, str | list[str]] = {}
    for name, kind in form.kinds.items():
        options = [o.get("value", "") for o in form.fields[name] if o.get("value")]
        if kind in ("radio", "checkbox"):
            # an immediate concern (Yes) is an event of its own, not what most returns say
            plain = [o for o in options if o != "Yes"] if "concern" in name else options
            data[name] = random.choice(plain or options)
        elif kind == "select":
            data[name] = random.choice(options) if options else ""
        elif name.endswith(("-day", "-month", "-year")):
            data[name] = {"-day": "14", "-month": "10", "-year": "2026"}[name[name.rindex("-") :]]
        elif kind == "number" or any(o.get("inputmode") == "numeric" for o in form.fields[name]):
            data[name] = str(random.randint(1, 9))
        else:
            data[name] = "Seen in the records; recorded as part of the load test."
    return data


def csrf(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise ValueError("no CSRF token on the page")
    return match.group(1)


class Person(HttpUser):
    """A demo person: signs in once, then browses; the subclasses say who and what."""

    abstract = True
    wait_time = WAIT
    account = "admin"

    def on_start(self) -> None:
        self.client.cookies = _LoopbackJar()
        self.token = ""
        self.sign_in()

    # -- requests that check what came back --

    def page(self, name: str, url: str, expect: str | None = None, params: dict | None = None) -> str | None:
        """GET a page: 200, signed in, and ``expect`` in it; the page's text, or None after a failure."""
        with self.client.get(url, name=name, params=params, catch_response=True, allow_redirects=False) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code} (to {r.headers.get('Location', '')})")
                return None
            if SIGNED_IN not in r.text:
                r.failure("not signed in")
                return None
            if expect and expect not in r.text:
                r.failure(f"not the expected page: {expect!r} missing")
                return None
            self.token = csrf(r.text)
            r.success()
            return r.text

    def download(self, name: str, url: str, content_type: str) -> None:
        """GET a file: 200, its type, and not empty."""
        with self.client.get(url, name=name, catch_response=True, allow_redirects=False) as r:
            if r.status_code != 200 or not r.headers.get("Content-Type", "").startswith(content_type):
                r.failure(f"status {r.status_code}, type {r.headers.get('Content-Type')}")
            elif not r.content:
                r.failure("empty file")
            else:
                r.success()

    def post(self, name: str, url: str, data: dict, goes_to: str) -> str | None:
        """POST a form (with the last page's CSRF token): a redirect whose location contains ``goes_to``."""
        with self.client.post(
            url, name=name, data={"csrf_token": self.token, **data}, catch_response=True, allow_redirects=False
        ) as r:
            location = r.headers.get("Location", "")
            if r.status_code not in (302, 303) or goes_to not in location:
                r.failure(f"status {r.status_code} to {location!r}, expected a redirect to {goes_to!r}")
                return None
            r.success()
            return location

    def sign_in(self) -> None:
        page = self.client.get("/login", name="Sign in (page)")
        email = EMAIL.format(self.account)
        with self.client.post(
            "/login",
            name="Sign in (form)",
            data={"csrf_token": csrf(page.text), "email": email, "password": DEMO_PASSWORD},
            catch_response=True,
            allow_redirects=False,
        ) as r:
            if r.status_code != 302 or "/login" in r.headers.get("Location", ""):
                r.failure(f"sign-in as {email}: status {r.status_code}")
                return
            r.success()
        self.page("Home", "/", "Signed in as")


class Auditor(Person):
    """An auditor of the police or the hospital trust, working through the load round's returns."""

    weight = 20

    def on_start(self) -> None:
        self.choose_account()
        self.current: int | None = None
        self.sections: list[str] = []
        super().on_start()

    def choose_account(self) -> None:
        self.account = next(_auditors)
        self.agency = "police" if "police" in self.account else "health"

    @task(2)
    def my_returns(self) -> None:
        self.page("My returns", "/returns", "My returns")

    @task(1)
    def my_returns_filtered(self) -> None:
        self.page("My returns (filtered)", "/returns", "My returns", params={"status": "not_started"})

    @task(12)
    def work_on_a_return(self) -> None:
        if self.current is None:
            if not POOLS[self.agency]:
                return self.my_returns()
            self.current = POOLS[self.agency].popleft()
            html = self.page("Return (task list)", f"/returns/{self.current}", "strategy discussions")
            if html is None:
                self.current = None
                return None
            self.sections = list(dict.fromkeys(re.findall(rf'href="/returns/{self.current}/sections/([^"#?]+)"', html)))
            return None
        if self.sections:
            self.save_section(self.sections[0])
            return None
        self.submit()
        return None

    def save_section(self, key: str) -> None:
        url = f"/returns/{self.current}/sections/{key}"
        html = self.page("Return section", url, "lock_version")
        if html is None:
            self.current = None
            return
        lock = re.search(r'name="lock_version" value="(\d+)"', html).group(1)
        following = self.sections[1] if len(self.sections) > 1 else "answers"
        if self.post("Save section", url, {"lock_version": lock, "then": "continue", **answers_for(html)}, following):
            self.sections.pop(0)
        else:
            self.current = None  # start another return rather than repeat a failure

    def submit(self) -> None:
        ret, self.current = self.current, None
        if self.page("Check your answers", f"/returns/{ret}/answers") is None:
            return
        if self.post("Submit return", f"/returns/{ret}/submit", {}, f"/returns/{ret}"):
            html = self.page("Return (after submitting)", f"/returns/{ret}", "Return ")
            if html and "marked ready for your agency lead" in html:
                if self.agency == "police":
                    READY_FOR_SIGN_OFF.append(ret)
            elif html and "Return submitted" in html:
                SUBMITTED.append(ret)


class AgencyLead(Auditor):
    """The police agency lead: signs off what the auditors finished, else fills in a return."""

    weight = 4

    def choose_account(self) -> None:
        self.account, self.agency = "lead.police", "police"

    @task(6)
    def sign_off(self) -> None:
        if not READY_FOR_SIGN_OFF:
            return self.my_returns()
        ret = READY_FOR_SIGN_OFF.popleft()
        if self.page("Return (to sign off)", f"/returns/{ret}", "Ready for sign-off") is None:
            return None
        if self.post("Sign off return", f"/returns/{ret}/submit", {}, f"/returns/{ret}") and self.page(
            "Return (after submitting)", f"/returns/{ret}", "Return submitted"
        ):
            SUBMITTED.append(ret)
        return None


class QAMember(Person):
    """A QA group member: findings, discussions, submitted returns, accepting them."""

    weight = 10
    account = "qa"

    def round_id(self) -> int:
        return random.choice(PLAN["reported_round_ids"])

    @task(4)
    def round_findings(self) -> None:
        self.page("Findings: round", f"/rounds/{self.round_id()}/findings", "Findings")

    @task(2)
    def round_findings_agencies(self) -> None:
        self.page("Findings: agencies", f"/rounds/{self.round_id()}/findings/agencies", "Findings")

    @task(2)
    def round_findings_texts(self) -> None:
        self.page("Findings: free text", f"/rounds/{self.round_id()}/findings/texts", "Findings")

    @task(1)
    def reaudit(self) -> None:
        if PLAN["reaudit_round_id"]:
            self.page("Findings: re-audit", f"/rounds/{PLAN['reaudit_round_id']}/findings/re-audit", "Re-audit")

    @task(2)
    def findings_index(self) -> None:
        self.page("Findings (across rounds)", "/findings", "Findings")

    @task(1)
    def theme_trend(self) -> None:
        if PLAN["theme_ids"]:
            self.page("Findings: theme trend", f"/themes/{random.choice(PLAN['theme_ids'])}/trend", "Findings")

    @task(2)
    def discussion(self) -> None:
        round_id, round_case_id = random.choice(PLAN["cases"])
        self.page("Case discussion", f"/rounds/{round_id}/cases/{round_case_id}/discussion", "multi-agency discussion")

    @task(2)
    def submitted_returns(self) -> None:
        self.page("Returns (submitted)", "/returns", "Returns</h1>", params={"status": "submitted"})

    @task(3)
    def accept(self) -> None:
        if not SUBMITTED:
            return self.submitted_returns()
        ret = SUBMITTED.popleft()
        if self.page("Return (to accept)", f"/returns/{ret}", "Submitted") is None:
            return None
        if self.page("Accept return (confirm)", f"/returns/{ret}/accept", "Accept this return?") is None:
            return None
        if self.post("Accept return", f"/returns/{ret}/accept", {}, f"/returns/{ret}"):
            self.page("Return (after accepting)", f"/returns/{ret}", "Return accepted")
        return None

    @task(1)
    def reviews(self) -> None:
        self.page("Reviews register", "/reviews", "Learning reviews")


class Admin(Person):
    """The business manager: dashboards, the action plan, exports, and now and then a round's PDF."""

    weight = 10
    account = "admin"

    @task(3)
    def home(self) -> None:
        self.page("Home", "/", "Signed in as")

    @task(2)
    def rounds(self) -> None:
        self.page("Rounds", "/rounds", "Audit rounds")

    @task(2)
    def round_detail(self) -> None:
        round_id = random.choice([PLAN["load_round_id"], *PLAN["reported_round_ids"]])
        self.page("Round", f"/rounds/{round_id}", "Round")

    @task(3)
    def action_plan(self) -> None:
        self.page("Action plan", "/actions", "Action plan")

    @task(1)
    def action(self) -> None:
        if PLAN["action_ids"]:
            self.page("Action", f"/actions/{random.choice(PLAN['action_ids'])}", "Action")

    @task(1)
    def action_plan_xlsx(self) -> None:
        self.download("Export: action plan (XLSX)", "/actions/plan.xlsx", "application/vnd.openxmlformats")

    @task(1)
    def answers_xlsx(self) -> None:
        round_id = random.choice(PLAN["reported_round_ids"])
        self.download("Export: round answers (XLSX)", f"/rounds/{round_id}/answers.xlsx", "application/vnd.openxml")

    @task(1)
    def reviews(self) -> None:
        self.page("Reviews register", "/reviews", "Learning reviews")

    @task(1)
    def review(self) -> None:
        if PLAN["review_ids"]:
            self.page("Review", f"/reviews/{random.choice(PLAN['review_ids'])}", "Review")

    @task(1)
    def pdf(self) -> None:
        """Ask for a round's PDF (queued), then poll its report page until it is ready, and download it."""
        round_id = random.choice(PLAN["reported_round_ids"])
        kind = random.choice(["report", "full", "briefing"])
        suppress = random.choice(["", "1"])
        report = f"/rounds/{round_id}/report"
        query = {"suppress": "1"} if suppress else None
        if self.page("PDF: report page", report, "PDF", params=query) is None:
            return
        asked = time.perf_counter()
        if not self.post("PDF: ask for it (queued)", f"{report}/{kind}", {"suppress": suppress}, report):
            return
        link = f"{report}/{kind}.pdf"
        while True:
            html = self.page("PDF: report page (polling)", report, params=query)
            if html is None:
                return
            if link in html:
                break
            if time.perf_counter() - asked > PDF_READY_TIMEOUT:
                events.request.fire(
                    request_type="JOB",
                    name="PDF: asked for until ready",
                    response_time=(time.perf_counter() - asked) * 1000,
                    response_length=0,
                    exception=TimeoutError(f"not ready after {PDF_READY_TIMEOUT:.0f} s"),
                    context={},
                )
                return
            time.sleep(REFRESH)
        events.request.fire(
            request_type="JOB",
            name="PDF: asked for until ready",
            response_time=(time.perf_counter() - asked) * 1000,
            response_length=0,
            exception=None,
            context={},
        )
        self.download("PDF: download", link + (f"?suppress={suppress}" if suppress else ""), "application/pdf")


class Scrutineer(Person):
    """The read-only scrutineer."""

    weight = 6
    account = "scrutineer"

    @task(2)
    def home(self) -> None:
        self.page("Home", "/", "Signed in as")

    @task(3)
    def findings_index(self) -> None:
        self.page("Findings (across rounds)", "/findings", "Findings")

    @task(2)
    def round_findings(self) -> None:
        self.page("Findings: round", f"/rounds/{random.choice(PLAN['reported_round_ids'])}/findings", "Findings")

    @task(2)
    def reviews(self) -> None:
        self.page("Reviews register", "/reviews", "Learning reviews")

    @task(2)
    def action_plan(self) -> None:
        self.page("Action plan", "/actions", "Action plan")

    @task(1)
    def audit_log(self) -> None:
        self.page("Audit log", "/audit-log", "Audit log")
