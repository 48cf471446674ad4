"""Reading the access log: the filtered log and the subject-access report for a case, on pages and as CSV.

Admins and scrutineers of the partnership only; every query is scoped to the partnership. The API
(``api/access_log.py``) uses the same filters and queries.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template, request
from flask_login import login_required

from ..extensions import db
from .access_log import (
    AccessEvent,
    AccessKind,
    AccessVia,
    case_objects,
    label_of,
    object_labels,
    objects_condition,
)
from .clock import LONDON, local_now
from .files import csv_cell
from .inputs import MAX_ID, whole_number
from .pagination import Page, paginate
from .permissions import Principal, allowed_or_403, can_view_history, current_principal

bp = Blueprint("access_log", __name__)

PAGE_SIZE = 50

FILTER_FIELDS = ("person", "from", "to", "kind", "object", "via")


@dataclass(frozen=True)
class AccessFilters:
    person: int | None = None
    since: date | None = None
    until: date | None = None
    kind: AccessKind | None = None
    object_id: int | None = None
    via: AccessVia | None = None

    def args(self) -> dict[str, str]:
        """The filters as query arguments (for page links and the export's link)."""
        values = {
            "person": self.person,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "kind": self.kind.value if self.kind else None,
            "object": self.object_id,
            "via": self.via.value if self.via else None,
        }
        return {k: str(v) for k, v in values.items() if v is not None}


def can_view_access_log(p: Principal) -> bool:
    """The access log and the subject-access report: admins and scrutineers (as the audit trail)."""
    return can_view_history(p)


def parse_filters(args: Mapping[str, str], partnership_id: int) -> tuple[AccessFilters, dict[str, str]]:
    """The filters from query arguments, and a message per bad one (each names its field)."""
    errors: dict[str, str] = {}
    raw = {name: (args.get(name) or "").strip() for name in FILTER_FIELDS}
    person = None
    if raw["person"]:
        person = whole_number(raw["person"], low=1, high=MAX_ID)
        if person is None or not _known_person(partnership_id, person):
            errors["person"] = "Person: choose one of the people listed"
            person = None
    dates: dict[str, date | None] = {}
    for name, label in (("from", "From"), ("to", "To")):
        dates[name] = None
        if raw[name]:
            try:
                dates[name] = date.fromisoformat(raw[name])
            except ValueError:
                errors[name] = f"{label}: enter a date such as 2026-11-30"
    if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        errors["to"] = "To: must be the same as or after the from date"
        dates["to"] = None
    kind = None
    if raw["kind"]:
        try:
            kind = AccessKind(raw["kind"])
        except ValueError:
            errors["kind"] = "What was viewed: choose case, return, review or evidence file"
    via = None
    if raw["via"]:
        try:
            via = AccessVia(raw["via"])
        except ValueError:
            errors["via"] = "How: choose page, API, file download or export"
    object_id = None
    if raw["object"]:
        object_id = whole_number(raw["object"], low=1, high=MAX_ID)
        if object_id is None:
            errors["object"] = "Object: give the number of one case, return, review or file"
        elif kind is None and "kind" not in errors:
            errors["object"] = "Object: choose what kind of thing it is as well"
            object_id = None
    filters = AccessFilters(person, dates["from"], dates["to"], kind, object_id, via)
    return filters, errors


def _known_person(partnership_id: int, user_id: int) -> bool:
    return (
        db.session.scalar(
            sa.select(AccessEvent.id)
            .where(AccessEvent.partnership_id == partnership_id, AccessEvent.user_id == user_id)
            .limit(1)
        )
        is not None
    )


def _day_start(day: date) -> datetime:
    # the dates are days in England (GMT or BST), as the people filtering mean them
    return datetime.combine(day, time.min, tzinfo=LONDON)


def log_query(partnership_id: int, filters: AccessFilters, *, objects: Any = None) -> sa.Select:
    """The partnership's access rows matching ``filters`` (and ``objects``, a condition), newest first."""
    query = sa.select(AccessEvent).where(AccessEvent.partnership_id == partnership_id)
    if objects is not None:
        query = query.where(objects)
    if filters.person is not None:
        query = query.where(AccessEvent.user_id == filters.person)
    if filters.since:
        query = query.where(AccessEvent.occurred_at >= _day_start(filters.since))
    if filters.until:
        query = query.where(AccessEvent.occurred_at < _day_start(filters.until + timedelta(days=1)))
    if filters.kind is not None:
        query = query.where(AccessEvent.object_kind == filters.kind)
    if filters.object_id is not None:
        query = query.where(AccessEvent.object_id == filters.object_id)
    if filters.via is not None:
        query = query.where(AccessEvent.via == filters.via)
    return query.order_by(AccessEvent.occurred_at.desc(), AccessEvent.id.desc())


def _mapped(name: str) -> Any:
    """A mapped class by name: core names no domain package (as core.views.record_names finds them)."""
    return next(m.class_ for m in db.Model.registry.mappers if m.class_.__name__ == name)


def people(partnership_id: int) -> list[tuple[int, str]]:
    """Everyone with a row in the partnership's log: (user id, name), by name."""
    user = _mapped("User")
    rows = db.session.execute(
        sa.select(user.id, user.name)
        .where(user.id.in_(sa.select(AccessEvent.user_id).where(AccessEvent.partnership_id == partnership_id)))
        .order_by(user.name, user.id)
    )
    return [(uid, name) for uid, name in rows]


def token_names(events: Iterable[AccessEvent]) -> dict[int, str]:
    ids = {e.api_token_id for e in events if e.api_token_id is not None}
    if not ids:
        return {}
    token = _mapped("ApiToken")
    rows = db.session.execute(sa.select(token.id, token.name).where(token.id.in_(sorted(ids))))
    return dict(rows.all())


def case_label_or_404(case_id: int, partnership_id: int) -> str:
    """The case's label, or 404 when it is not one of the partnership's cases."""
    label = object_labels(partnership_id, [(AccessKind.CASE, case_id)]).get((AccessKind.CASE, case_id))
    if label is None:
        abort(404)
    return label


def case_summary(partnership_id: int, objects: Any) -> list[dict[str, Any]]:
    """Per person: how many times they opened the case or what belongs to it, first and last."""
    user = _mapped("User")
    rows = db.session.execute(
        sa.select(
            AccessEvent.user_id,
            user.name,
            user.email,
            sa.func.count(),
            sa.func.min(AccessEvent.occurred_at),
            sa.func.max(AccessEvent.occurred_at),
        )
        .join(user, user.id == AccessEvent.user_id)
        .where(AccessEvent.partnership_id == partnership_id, objects)
        .group_by(AccessEvent.user_id, user.name, user.email)
        .order_by(sa.func.max(AccessEvent.occurred_at).desc())
    )
    utc = AccessEvent.occurred_at.type
    return [
        {
            "user_id": uid,
            "name": name,
            "email": email,
            "count": count,
            # aggregates bypass the column's type on SQLite: put the zone back the same way
            "first_at": utc.process_result_value(first, db.engine.dialect),
            "last_at": utc.process_result_value(last, db.engine.dialect),
        }
        for uid, name, email, count, first, last in rows
    ]


# -- export --

CSV_HEADINGS = [
    "When (UK time)",
    "Person",
    "Email",
    "User id",
    "API token",
    "How",
    "What",
    "Kind",
    "Object id",
    "Route",
    "IP address",
    "Browser",
]


def csv_rows(partnership_id: int, query: sa.Select) -> Iterable[list[Any]]:
    """The export's rows, a batch at a time with the labels of each batch."""
    batch: list[AccessEvent] = []
    for event in db.session.scalars(query.execution_options(yield_per=1000)):
        batch.append(event)
        if len(batch) == 1000:
            yield from _csv_batch(partnership_id, batch)
            batch = []
    yield from _csv_batch(partnership_id, batch)


def _csv_batch(partnership_id: int, events: list[AccessEvent]) -> Iterable[list[Any]]:
    labels = object_labels(partnership_id, [(e.object_kind, e.object_id) for e in events])
    tokens = token_names(events)
    for e in events:
        yield [
            e.occurred_at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S"),
            e.user.name,
            e.user.email,
            e.user_id,
            tokens.get(e.api_token_id, "") if e.api_token_id else "",
            e.via.label,
            label_of(labels, e.object_kind, e.object_id),
            e.object_kind.label,
            e.object_id,
            e.endpoint,
            e.ip,
            e.user_agent,
        ]


def csv_response(rows: Iterable[list[Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADINGS)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return Response(
        out.getvalue().encode("utf-8-sig"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- pages --


def _principal() -> Principal:
    p = current_principal()
    allowed_or_403(p.partnership_id is not None and can_view_access_log(p))
    return p


@bp.get("/access-log")
@login_required
def log():
    """Who viewed which case, return, review or file: newest first, filtered by person, date and object."""
    p = _principal()
    filters, errors = parse_filters(request.args, p.partnership_id)
    if errors:
        filters = AccessFilters()
        page = Page(items=[], total=0, page=1, per_page=PAGE_SIZE)
    else:
        page = paginate(log_query(p.partnership_id, filters), per_page=PAGE_SIZE)
    labels = object_labels(p.partnership_id, [(e.object_kind, e.object_id) for e in page.items])
    if filters.kind is not None and filters.object_id is not None:
        labels |= object_labels(p.partnership_id, [(filters.kind, filters.object_id)])
    return render_template(
        "core/access_log.html",
        page=page,
        labels=labels,
        tokens=token_names(page.items),
        people=people(p.partnership_id),
        kind_options=[(kind.value, kind.label) for kind in AccessKind],
        via_options=[(via.value, via.label) for via in AccessVia],
        filters=filters,
        raw={name: request.args.get(name, "") for name in FILTER_FIELDS},
        args=filters.args(),
        errors=errors,
    ), 400 if errors else 200


@bp.get("/access-log.csv")
@login_required
def log_csv():
    """The filtered access log as CSV (every matching row, not one page)."""
    p = _principal()
    filters, errors = parse_filters(request.args, p.partnership_id)
    if errors:
        abort(400, "; ".join(errors.values()))
    stamp = local_now().strftime("%Y-%m-%d")
    return csv_response(csv_rows(p.partnership_id, log_query(p.partnership_id, filters)), f"access-log-{stamp}.csv")


@bp.get("/access-log/cases/<int:case_id>")
@login_required
def case_report(case_id: int):
    """Who looked at a case: every access to it, its returns and their files, by person, then each one."""
    p = _principal()
    label = case_label_or_404(case_id, p.partnership_id)
    objects = objects_condition(case_objects(case_id, p.partnership_id))
    page = paginate(log_query(p.partnership_id, AccessFilters(), objects=objects), per_page=PAGE_SIZE)
    labels = object_labels(p.partnership_id, [(e.object_kind, e.object_id) for e in page.items])
    return render_template(
        "core/access_case.html",
        case_id=case_id,
        label=label,
        summary=case_summary(p.partnership_id, objects),
        page=page,
        labels=labels,
        tokens=token_names(page.items),
    )


@bp.get("/access-log/cases/<int:case_id>.csv")
@login_required
def case_report_csv(case_id: int):
    """The subject-access report for one case as CSV: every access, newest first."""
    p = _principal()
    label = case_label_or_404(case_id, p.partnership_id)
    objects = objects_condition(case_objects(case_id, p.partnership_id))
    query = log_query(p.partnership_id, AccessFilters(), objects=objects)
    stem = "".join(ch if ch.isalnum() else "-" for ch in label.lower()).strip("-")[:40] or "case"
    return csv_response(csv_rows(p.partnership_id, query), f"access-to-{stem}.csv")
