"""Logs: JSON lines on stderr in production (``LOG_FORMAT``), one line per request, and no personal data.

Every record is one line. In JSON (the default outside development) it holds ``time`` (UTC, ISO 8601),
``level``, ``logger``, ``message`` and, during a request, ``request_id``; an exception's traceback goes in
``exception``. After each request one line from ``audit_app.request`` adds ``method``, ``route`` (the URL
rule, such as ``/rounds/<int:round_id>``: never the URL as sent, so no query string), ``status``,
``duration_ms``, and ``user_id`` and ``partnership_id`` as numbers (or null).

Personal data is kept out: no email addresses, names, form values, query strings or IP addresses (an IP
address is personal data under UK GDPR; who came from where is the access log's business, kept apart in
the database, where admins and scrutineers read it). Code logs ids, never people; as a net, anything shaped like an email address left in a
message or traceback is replaced by ``[email]``, PostgreSQL's ``DETAIL:`` line (which quotes the row a
constraint refused) by ``[values not logged]``, SQLAlchemy leaves the values sent out of its errors
(``hide_parameters``), and Flask-Limiter's breach lines lose their key (an IP address or the
email address typed at sign-in).

The request id is the proxy's ``X-Request-ID`` when it is well formed (8 to 36 letters, digits, dots,
dashes or underscores), else a new UUID; it is sent back in the response's ``X-Request-ID`` and recorded
on the audit trail's events of that request.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,35}")
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: PostgreSQL's detail line of an error quotes the row or key refused ("Failing row contains (...)")
PG_DETAIL = re.compile(r"(DETAIL:\s*)[^\n]*")
#: the fields of a request's line, beyond every record's own
REQUEST_FIELDS = ("method", "route", "status", "duration_ms", "user_id", "partnership_id")
_MARK = "_audit_app_handler"

request_log = logging.getLogger("audit_app.request")


def scrub(text: str) -> str:
    """``text`` without email addresses or the values PostgreSQL quotes in an error's detail."""
    return PG_DETAIL.sub(r"\1[values not logged]", EMAIL.sub("[email]", text))


def _request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    return None


class PersonalDataFilter(logging.Filter):
    """Adds the request id; takes email addresses out of the message, and the key out of Flask-Limiter's
    breach lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id()
        if record.name == "flask-limiter" and isinstance(record.args, tuple) and len(record.args) == 3:
            record.args = (record.args[0], "key not logged", record.args[2])
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Development: readable lines, the request's fields after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei: Any) -> str:
        return scrub(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        extras = [f"{name}={getattr(record, name)}" for name in REQUEST_FIELDS if hasattr(record, name)]
        if request_id:
            extras.insert(0, f"request_id={request_id}")
        return f"{line} [{' '.join(extras)}]" if extras else line


def configure_logging(app: Flask) -> None:
    """One handler on the root logger, to stderr, in ``LOG_FORMAT``; replaces the one an earlier app made."""
    from flask.logging import default_handler

    log_format = (app.config.get("LOG_FORMAT") or "").lower() or (
        "text" if app.config["ENV_NAME"] == "development" else "json"
    )
    if log_format not in ("json", "text"):
        raise RuntimeError(f"LOG_FORMAT must be json or text, not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(PersonalDataFilter())
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO))
    app.logger.removeHandler(default_handler)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin, every command
    if app.config["ENV_NAME"] != "development":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a development server's access lines (IPs)


def register_request_logging(app: Flask) -> None:
    """Give each request its id, and log one line when it is answered."""

    def _start_request() -> None:
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if REQUEST_ID.fullmatch(sent) else str(uuid.uuid4())
        g.request_started = time.perf_counter()

    # first of all, before the CSRF check and the guards that may answer early
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)

    @app.after_request
    def _log_request(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.get("request_started")
        principal = g.get("principal")
        user_id = getattr(principal, "user_id", None)
        partnership_id = getattr(principal, "partnership_id", None)
        request_log.log(
            logging.ERROR if response.status_code >= 500 else logging.INFO,
            "%s %s %s",
            request.method,
            request.url_rule.rule if request.url_rule else "(no route)",
            response.status_code,
            extra={
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                "user_id": user_id if isinstance(user_id, int) else None,
                "partnership_id": partnership_id if isinstance(partnership_id, int) else None,
            },
        )
        return response
