"""Every HTML form the app serves, found by itself and fuzzed with hostile values (hypothesis).

Discovery: every GET page of the URL map (``tests/routes.py``), fetched as each role the access table lets in
(``tests/test_access.py``) over a world with a real object behind every URL argument; each
``<form method="post">`` on those pages is parsed (action, inputs and their types, selects and their options,
textareas, checkboxes, radios, buttons, file inputs, the CSRF token). Nobody lists the forms: a new page or
form is fuzzed the moment a page of the world shows it, and a POST route that no page shows a form for fails
``test_every_post_route_has_a_form_or_a_reason`` until it gets one (or a reason in ``UNREACHED``).

Fuzzing: for each POST endpoint, each of its forms is posted ``FUZZ_EXAMPLES`` times (default 3) with CSRF on,
as the role that saw it, every field drawn from hostile values (long strings, NUL and control characters, line
separators, bidi and zero-width characters, formula prefixes, markup, SQL quotes, huge/negative/fractional
numbers, ids past 2**31, impossible dates, unknown options, junk and empty files), missing or repeated. Each
example runs in its own SAVEPOINT, rolled back after it, so a form that closes a round or deletes a draft
cannot starve the next. Hypothesis is derandomized: a red run is the same red run again, and the failing
example is printed.

Every answer must be one the app documents for a page (200, 302/303, 400, 403, 404, 409, 413, 415, 422; 429
on sign-in only), never a 5xx; a 400/422 page carries a GOV.UK error summary that names a field; no page leaks
a traceback.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import g
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound

from audit_app.accounts.models import User
from audit_app.core.audit import system_actor
from audit_app.extensions import db, limiter
from audit_app.rounds import carry
from audit_app.rounds import services as round_services
from audit_app.rounds.models import Round, RoundStatus
from tests.conftest import login, module_setup
from tests.factories import load_world, make_questionnaire, make_return_answered, make_round, returns_of
from tests.routes import ROUTES, build_route_world, fill_url
from tests.test_access import ACCESS, METHOD_ACCESS, PUBLIC

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
#: discovery must find at least this many distinct forms (it found 51 when this was written)
MIN_FORMS = 45

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
    print_blob=True,
    # no shrinking: each step is a request; the failing example as drawn is reported, and is drawn again next run
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)

#: the roles that fetch pages, in the order a form's poster is chosen (the first allowed one that saw it)
FETCH_ROLES = ["admin", "qa_member", "agency_lead", "auditor", "scrutineer", "anonymous"]
#: who fetch the pages of the objects in other states (``build_places``): the admin, and the police auditor,
#: the only one offered a complete return's submit button
PLACES_ROLES = {"admin", "auditor"}
#: what a page may answer a posted form with (docs/api.md and README: pages answer these)
DOCUMENTED = {200, 302, 303, 400, 403, 404, 409, 413, 415, 422}
#: POST endpoints of pages no page of the world shows a form for, and why
UNREACHED: dict[str, str] = {
    "accounts.set_password": "its form is reached by the emailed link's token, not in the world (tested in accounts)",
    "rounds.round_sharing": "the world's admin administers no other partnership, so there is nobody to share with "
    "(tested in tests/self_assessments/test_shared_rounds.py)",
    "rounds.round_unshare": "the world's round is not shared (tested in tests/self_assessments/test_shared_rounds.py)",
    "actions.recommendation_delete": "the world's recommendation has an action, so no page offers to delete it "
    "(tested in tests/actions/test_pages.py)",
    "actions.case_recommendation_promote": "the world's case has no panel recommendation to promote "
    "(tested in tests/actions/test_pages.py)",
    # -- learning reviews: agency summaries, the panel meeting, the decision --
    "review_summaries.summaries_questionnaire": "the world's partnership has its agency summary questionnaire, so "
    "no page offers to publish the library's (tested in tests/reviews/test_summaries.py)",
    # -- account security (bad input tested in tests/accounts/test_account_security.py) --
    "accounts.login_two_factor": "its form follows a right password of someone with two-factor sign-in; nobody in "
    "the world has it on",
    "accounts.two_factor_disable": "nobody in the world has two-factor sign-in on",
    "accounts.two_factor_recovery_codes": "nobody in the world has two-factor sign-in on",
    "accounts.user_unlock": "nobody in the world is locked out",
    "accounts.user_two_factor_reset": "nobody in the world has two-factor sign-in on",
}
LEAKS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "psycopg.", "sqlite3.", "jinja2.exc")


# -- discovery --


@dataclass
class FormField:
    """One named control of a form: its kind, the values the page offers and the one it shows."""

    name: str
    kind: str  # text, textarea, hidden, number, email, password, date, select, radio, checkbox, button, file
    options: list[str] = field(default_factory=list)
    value: str = ""
    multiple: bool = False


@dataclass
class Form:
    page: str
    role: str
    action: str
    endpoint: str
    enctype: str
    fields: dict[str, FormField]
    csrf_token: str | None
    #: the signed-in session the page was fetched in (the CSRF token belongs to it)
    session: dict[str, Any] = field(default_factory=dict)
    #: the texts of its labels, legends and buttons (how a page names its fields)
    labels: list[str] = field(default_factory=list)

    @property
    def signature(self) -> tuple:
        """One form, whatever object it acts on: the same form for another question or library entry is
        the same code path, fuzzed once."""
        return (self.endpoint, tuple(sorted((f.name, f.kind) for f in self.fields.values())))

    def label(self) -> str:
        return f"{self.action} ({', '.join(self.fields) or 'no fields'}) as {self.role}, from {self.page}"


class _FormParser(HTMLParser):
    """The ``<form method="post">`` elements of a page, with their controls."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: FormField | None = None
        self._textarea: FormField | None = None
        self._label: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = {
                    "action": a.get("action", ""),
                    "enctype": a.get("enctype", ""),
                    "controls": [],
                    "labels": [],
                }
                self.forms.append(self._form)
            return
        if self._form is None:
            return
        controls = self._form["controls"]
        if tag in ("label", "legend", "button"):
            self._label = []
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                kind = "button"
            if kind == "text" and a.get("inputmode") == "numeric":
                kind = "number"
            date_part = re.fullmatch(r"(.+)-(day|month|year)", a.get("id", ""))
            if date_part:
                # GOV.UK date parts: three inputs of one name (WTForms), or ``<stem>-day`` and friends
                stem = date_part.group(1)
                controls.append((FormField(stem, "date", value="same" if name == stem else "split"), False))
                return
            checked = "checked" in a
            controls.append((FormField(name, kind, value=a.get("value", "")), checked))
        elif tag == "button" and name:
            controls.append((FormField(name, "button", value=a.get("value", "")), False))
        elif tag == "select" and name:
            self._select = FormField(name, "select", multiple="multiple" in a)
            controls.append((self._select, False))
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a:
                self._select.value = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = FormField(name, "textarea")
            controls.append((self._textarea, False))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("label", "legend", "button") and self._label is not None and self._form is not None:
            text = " ".join("".join(self._label).split())
            if text:
                self._form["labels"].append(text)
            self._label = None
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        if self._label is not None:
            self._label.append(data)


def parse_forms(html: str) -> list[tuple[str, str, dict[str, FormField], str | None, list[str]]]:
    """(action, enctype, fields by name, CSRF token, label texts) of each POST form of ``html``.

    Radios, checkboxes and buttons of one name become one field whose options are their values.
    """
    parser = _FormParser()
    parser.feed(html)
    found = []
    for form in parser.forms:
        fields: dict[str, FormField] = {}
        token = None
        for control, checked in form["controls"]:
            if control.name == "csrf_token":
                token = control.value
                continue
            if control.kind in ("radio", "checkbox", "button"):
                existing = fields.setdefault(
                    control.name, FormField(control.name, control.kind, multiple=control.kind == "checkbox")
                )
                existing.options.append(control.value)
                if checked or control.kind == "button":
                    existing.value = existing.value or control.value
            else:
                fields.setdefault(control.name, control)
        found.append((form["action"], form["enctype"], fields, token, form["labels"]))
    return found


def _post_endpoint(app, path: str) -> str:
    """The endpoint a form's action posts to; fails if no POST route takes it."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method="POST")
    except MethodNotAllowed:
        raise AssertionError(f"a form posts to {path}, which takes no POST") from None
    except NotFound:
        raise AssertionError(f"a form posts to {path}, which is no route") from None
    return endpoint


def _may_use(role: str, endpoint: str, method: str) -> bool:
    allowed = METHOD_ACCESS.get((endpoint, method), ACCESS[endpoint])
    return allowed == PUBLIC or role in allowed


#: a URL that names a file is a download, not a page
DOWNLOAD = re.compile(r"\.(pdf|xlsx|csv|yaml|json|zip|png|svg)$")
GET_PAGES = sorted(
    {(endpoint, rule) for endpoint, rule, method in ROUTES if method == "GET" and not rule.startswith("/api/")}
)
WEB_POSTS = sorted({endpoint for endpoint, rule, method in ROUTES if method == "POST" and not rule.startswith("/api/")})


def discover_forms(app, data: dict[str, Any]) -> list[Form]:
    """Every distinct POST form of every GET page, fetched as each role that may see the page.

    Each page is fetched with the world's ids, and again, as an admin and an auditor, with each of
    ``data["places"]`` (ids of
    objects in other states) laid over them where that changes its URL.
    """
    forms: dict[tuple, Form] = {}
    for role in FETCH_ROLES:
        client = app.test_client()
        if role != "anonymous":
            login(client, db.session.get(User, data["world"]["users"][role]))
        urls = []
        for endpoint, rule in GET_PAGES:
            if not _may_use(role, endpoint, "GET") or (role == "anonymous" and ACCESS[endpoint] != PUBLIC):
                continue
            if DOWNLOAD.search(rule):
                continue  # a file (a PDF report, a workbook): never a page with a form
            for place in [{}, *(data["places"] if role in PLACES_ROLES else [])]:
                url = fill_url(rule, {**data["ids"], **place})
                if url not in urls:
                    urls.append(url)
        for url in urls:
            g.pop("csrf_token", None)  # Flask-WTF keeps the token it made in g: the requests share the app context
            response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            with client.session_transaction() as session:
                snapshot = dict(session)
            for action, enctype, fields, token, labels in parse_forms(response.get_data(as_text=True)):
                path = urlsplit(urljoin(url, action or url)).path
                form = Form(url, role, path, _post_endpoint(app, path), enctype, fields, token, snapshot, labels)
                known = forms.get(form.signature)
                # The poster is the first role the access table lets post it (else the first that saw it).
                if known is None or (
                    not _may_use(known.role, known.endpoint, "POST") and _may_use(role, form.endpoint, "POST")
                ):
                    forms[form.signature] = form
    return list(forms.values())


# -- hostile values --

HOSTILE_TEXT = [
    "",
    " ",
    "x" * 5000,
    "é" * 70_000,
    "line\u2028separator\u2029paragraph",
    "\u202eevil.exe\u202c",
    "zero\u200bwidth\ufeff\u200d",
    "\x01\x02\x07\x08\x0b\x0c\x1b\x7f",
    "\r\n\r\n\t",
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}{% raw %}",
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    'a"b\\c',
    "None",
    "nan",
    "NaN",
    "null",
    "undefined",
    "\U0001f600\U0001f4a9",
    "\U000e0001",  # a tag character
    "\x00",
    "nul\x00in the middle",
]
HOSTILE_NUMBERS = [
    "0",
    "-1",
    "-2147483648",
    "2147483647",
    "2147483648",
    str(2**63),
    str(10**40),
    "1.5",
    "1e9",
    "1e400",
    "NaN",
    "inf",
    "-0",
    "0x10",
    " 7 ",
    "٣",
    "²",
    "007",
    "",
]
#: (day, month, year), and two posts with a part missing or one too many
HOSTILE_DATES = [
    ("31", "2", "2027"),
    ("29", "2", "2027"),
    ("1", "1", "0"),
    ("1", "1", "99999"),
    ("0", "0", "0"),
    ("-1", "13", "2027"),
    ("32", "12", "2027"),
    ("1", "1", "1"),
    ("31", "12", "9999"),
    ("x", "y", "z"),
    ("", "", "2027"),
    ("1.5", "2", "2027"),
    ("2147483648", "1", "2027"),
    ("1", "2"),  # a part missing
    ("1", "2", "2027", "4"),  # a part too many
]
DATE_PARTS = ("day", "month", "year")
HOSTILE_FILES: list[tuple[bytes, str]] = [
    (b"", "empty.csv"),
    (b"", ""),
    (b"\x00\xff\xfe junk \x80\x81", "junk.xlsx"),
    (b"PK\x03\x04" + b"\x00" * 64, "broken.xlsx"),
    (b"\xff\xfe\x00a\x00b", "utf16.csv"),
    (b"reference,age_band\n=cmd|' /C calc'!A0,+1\n", "formula.csv"),
    (b'"unclosed,quote\n' + b"x" * 200_000 + b"\n", "long.csv"),
    (b"a: &a [*a, *a]\nb: *a\n", "bomb.yaml"),
    (b"key: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "deep.yaml"),
    (b"<html><script>alert(1)</script></html>", "../../etc/passwd"),
    (b"x", "\u202ecsv.exe"),
    (b"x", "a" * 300 + ".csv"),
]
OUT_OF_RANGE_IDS = ["0", "-1", "2147483648", str(2**63), "1.5", "1e3", "abc", " 1", "\u0661"]


def _text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    )


def _field_values(form_field: FormField) -> st.SearchStrategy[list[Any]]:
    """What one field sends: a list of values (empty: the field is left out; two: it is repeated)."""
    kind = form_field.kind
    if kind == "file":
        one: st.SearchStrategy[Any] = st.sampled_from(HOSTILE_FILES)
    elif kind in ("select", "radio", "checkbox", "button"):
        offered = list(form_field.options)
        one = st.one_of(
            st.sampled_from(offered or [""]),
            st.sampled_from([*OUT_OF_RANGE_IDS, "not-an-option", "", "None"]),
            _text(),
        )
    elif kind in ("number", "date") or form_field.name.endswith(("_id", "_version", "number", "days")):
        one = st.one_of(st.sampled_from(HOSTILE_NUMBERS), _text())
    else:
        one = _text()
    kept = [form_field.value] if form_field.value or kind not in ("checkbox", "button") else []
    return st.one_of(
        st.just(kept),  # what the page shows (often valid)
        one.map(lambda value: [value]),
        st.just([]),  # left out
        st.lists(one, min_size=2, max_size=3),  # repeated
    )


@st.composite
def hostile_post(draw, form: Form) -> list[tuple[str, Any]]:
    """A form post: (name, value) pairs, a date's three parts drawn together as one hostile date."""
    pairs: list[tuple[str, Any]] = []
    for name, form_field in form.fields.items():
        if form_field.kind != "date":
            pairs.extend((name, value) for value in draw(_field_values(form_field)))
            continue
        parts = draw(st.one_of(st.sampled_from(HOSTILE_DATES), st.just(None)))
        if parts is None:
            continue  # left out
        names = [name] * len(parts) if form_field.value == "same" else [f"{name}-{p}" for p in DATE_PARTS]
        pairs.extend(zip(names, parts, strict=False))
    if form.csrf_token is not None:
        pairs.append(("csrf_token", form.csrf_token))
    return pairs


def _as_data(pairs: list[tuple[str, Any]]) -> MultiDict:
    data = MultiDict()
    for name, value in pairs:
        if isinstance(value, tuple):
            content, filename = value
            data.add(name, (io.BytesIO(content), filename, "application/octet-stream"))
        else:
            data.add(name, value)
    return data


# -- the checks --


class _Summary(HTMLParser):
    """The GOV.UK error summary of a page: whether there is one, its links and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = False
        self.links: list[str] = []
        self.text = ""
        self.ids: set[str] = set()
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if a.get("id"):
            self.ids.add(a["id"])
        if "govuk-error-summary" in a.get("class", "").split():
            self.found = True
            self._depth = 1
        elif self._depth:
            if tag not in ("br", "img", "input"):
                self._depth += 1
            if tag == "a" and a.get("href", "").startswith("#"):
                self.links.append(a["href"][1:])

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.text += data


def describe(pairs: list[tuple[str, Any]]) -> str:
    """The posted fields, one per line, each value cut to 80 characters (a file as its name and size)."""
    lines = []
    for name, value in pairs:
        if isinstance(value, tuple):
            value = f"<file {value[1][:60]!r}, {len(value[0])} bytes>"
        else:
            value = repr(value)[:80] + (f"... ({len(value)} characters)" if len(value) > 70 else "")
        lines.append(f"    {name} = {value}")
    return "\n".join(lines) or "    (nothing)"


def check_response(form: Form, pairs: list[tuple[str, Any]], response) -> None:
    try:
        _check(form, pairs, response)
    except AssertionError as error:
        raise AssertionError(f"{error}\n  posted:\n{describe(pairs)}") from None


def _check(form: Form, pairs: list[tuple[str, Any]], response) -> None:
    status = response.status_code
    body = response.get_data(as_text=True)
    assert status < 500, f"{status} server error"
    allowed = DOCUMENTED | ({429} if form.endpoint == "accounts.login" else set())
    assert status in allowed, f"{status} is not an answer a page documents"
    for leak in LEAKS:
        assert leak not in body, f"the page leaks {leak!r}"
    if status in (400, 422) and response.mimetype == "text/html":
        summary = _Summary()
        summary.feed(body)
        assert summary.found, f"a {status} page without a GOV.UK error summary"
        assert names_a_field(summary, form, pairs), (
            f"the {status} page's error summary names no field: {' '.join(summary.text.split())[:300]!r}"
        )


def names_a_field(summary: _Summary, form: Form, pairs: list[tuple[str, Any]]) -> bool:
    """Whether an error summary points at a field (a link to it) or names one: by its label, legend or
    button text, or by its name (quoted, a name of three letters or more as a word, any name followed by a
    colon)."""
    names = {name for name, _ in pairs} | set(form.fields)
    if any(link in summary.ids or link in names or link.split("-")[0] in names for link in summary.links):
        return True
    text = " ".join(summary.text.split())
    lowered = text.lower()
    if any(label.lower() in lowered for label in form.labels if len(label) >= 3):
        return True
    return any(
        f"'{name}'" in text
        or re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])" + ("" if len(name) >= 3 else ":"), text)
        for name in names
    )


# -- the fixtures: the world once per module, every example in its own savepoint --


def build_places(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Objects in states whose pages show forms the world's own do not, as ids to lay over the world's:
    a re-audit in planning (carry and remove cases), a submitted return (accept, ask for changes), a complete
    return (submit), a published
    questionnaire (retire, new draft), a closed self-assessment (start the next round) and a return with answers
    carried forward (confirm them)."""
    world = load_world(data["world"])
    base = db.session.get(Round, data["ids"]["round_id"])
    with system_actor("test:setup"):
        reaudit = make_round(
            world.partnership.id,
            version=base.version,
            title="Re-audit round",
            agencies=[world.police],
            cases=["CS-REAUDIT"],
            previous_round=base,
        )
        submitted_round = make_round(
            world.partnership.id,
            version=base.version,
            title="Submitted round",
            agencies=[world.police],
            cases=["CS-SUBMITTED"],
            status=RoundStatus.OPEN,
        )
        submitted = returns_of(submitted_round)[0]
        make_return_answered(submitted, world.user("agency_lead"), submit=True)
        # a complete return not yet submitted: its page offers the submit button (only usable buttons show)
        complete_round = make_round(
            world.partnership.id,
            version=base.version,
            title="Complete round",
            agencies=[world.police],
            cases=["CS-COMPLETE"],
            status=RoundStatus.OPEN,
        )
        complete = returns_of(complete_round)[0]
        make_return_answered(complete, world.user("auditor"))
        # year on year: a closed self-assessment (start the next round from it) and the round started from it,
        # open, whose return has answers carried forward (confirm a section unchanged)
        s11 = make_questionnaire(world.partnership.id, library_key="section11_self_assessment")
        last_year = make_round(
            world.partnership.id, version=s11, title="Last year's S11", agencies=[world.police], status=RoundStatus.OPEN
        )
        make_return_answered(returns_of(last_year)[0], world.user("agency_lead"), submit=True)
        round_services.move_round(last_year, RoundStatus.CLOSED)
        this_year = carry.plan_next_round(last_year, title="This year's S11", opens_on=None, due_on=None)
        round_services.move_round(this_year, RoundStatus.OPEN)
        carried = returns_of(this_year)[0]
        # -- self-assessments: scrutiny threads, moderation, follow-up list --
        # last year's submitted return can be moderated; a named moderator of its round can be removed
        from audit_app.self_assessments import scrutiny

        scrutiny.add_moderator(last_year, world.user("scrutineer").id, by=world.user("admin"))
        db.session.commit()
    return [
        {
            "sa_round_id": last_year.id,
            "sa_return_id": returns_of(last_year)[0].id,
            "sa_question_key": "leadership_named_lead",
        },
        {"round_id": last_year.id},
        {"round_id": this_year.id, "return_id": carried.id, "section_key": this_year.version.sections[0].key},
        {"round_id": reaudit.id, "round_case_id": reaudit.cases[0].id, "case_id": reaudit.cases[0].case_id},
        {"round_id": submitted_round.id, "return_id": submitted.id},
        {"round_id": complete_round.id, "return_id": complete.id},
        {"questionnaire_id": base.version.questionnaire_id, "number": base.version.number},
    ]


@pytest.fixture(scope="module")
def fuzz_data(app, module_connection) -> dict[str, Any]:
    with module_setup(app, module_connection):
        data = build_route_world()
        data["places"] = build_places(data)
        app.config["WTF_CSRF_ENABLED"] = True
        try:
            data["forms"] = discover_forms(app, data)
        finally:
            app.config["WTF_CSRF_ENABLED"] = False
        db.session.rollback()
        return data


@pytest.fixture()
def db_session(savepoint_session):
    return savepoint_session


@pytest.fixture()
def csrf_on(app) -> Iterator[None]:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_discovery_finds_the_forms(fuzz_data, record_property):
    forms = fuzz_data["forms"]
    endpoints = {form.endpoint for form in forms}
    print(f"\nform fuzz: {len(forms)} forms found, posting to {len(endpoints)} endpoints")
    record_property("forms_found", len(forms))
    assert len(forms) >= MIN_FORMS, [form.label() for form in forms]
    kinds = {f.kind for form in forms for f in form.fields.values()}
    assert {"text", "textarea", "select", "checkbox", "radio", "file", "date", "hidden"} <= kinds, kinds
    assert all(form.csrf_token for form in forms), [form.label() for form in forms if not form.csrf_token]


def test_every_post_route_has_a_form_or_a_reason(fuzz_data):
    reached = {form.endpoint for form in fuzz_data["forms"]}
    assert set(WEB_POSTS) - reached - set(UNREACHED) == set(), "no page of the world shows a form for these"
    assert reached & set(UNREACHED) == set(), "these are reached now: take them out of UNREACHED"


def _fuzz_form(app, module_connection, form: Form) -> None:
    """Post hostile values to ``form`` ``EXAMPLES`` times, each in a savepoint rolled back after it."""
    client = app.test_client()

    @given(pairs=hostile_post(form))
    @FUZZ_SETTINGS
    def run(pairs: list[tuple[str, Any]]) -> None:
        savepoint = module_connection.begin_nested()
        limiter.reset()
        try:
            with client.session_transaction() as session:
                session.clear()
                session.update(form.session)
            response = client.post(form.action, data=_as_data(pairs))
            check_response(form, pairs, response)
        finally:
            db.session.rollback()
            db.session.remove()
            g.pop("_login_user", None)  # the requests share the test's app context; its user is gone with the session
            if savepoint.is_active:
                savepoint.rollback()

    run()


@pytest.mark.parametrize("endpoint", WEB_POSTS)
def test_hostile_values_to_every_form(app, module_connection, fuzz_data, csrf_on, db_session, endpoint):
    forms = [form for form in fuzz_data["forms"] if form.endpoint == endpoint]
    if not forms:
        assert endpoint in UNREACHED, f"no form found for {endpoint}"
        pytest.skip(UNREACHED[endpoint])
    failures = []
    for form in forms:
        try:
            _fuzz_form(app, module_connection, form)
        except Exception as error:  # one form's failure must not hide the next's
            notes = "\n".join(getattr(error, "__notes__", []))
            failures.append(f"{form.label()}:\n  {str(error).strip()[:800]}\n  {notes[:3000]}")
    assert not failures, "\n\n".join(failures)
