"""Configuration classes. Secrets come only from the environment.

Pick one with ``APP_ENV`` (``production`` by default, ``development``, ``test``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def database_url(value: str | None, default: str) -> str:
    url = value or default
    # Heroku-style URLs and plain "postgresql://" both mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    ENV_NAME = "production"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("DATABASE_URL"), f"sqlite:///{BASE_DIR / 'instance' / 'audit.db'}"
    )
    #: hide_parameters: a database error's message (logged) never carries the values sent (addresses, names)
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    #: PostgreSQL: a statement running longer, or waiting longer for a lock, is stopped (milliseconds; 0: never),
    #: so a held lock or a runaway query cannot hold a worker until it is killed. Migrations run without them.
    DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", 30_000))
    DB_LOCK_TIMEOUT_MS = int(os.environ.get("DB_LOCK_TIMEOUT_MS", 5_000))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    #: the largest evidence file accepted (the whole request is capped by MAX_CONTENT_LENGTH)
    MAX_FILE_BYTES = int(os.environ.get("MAX_FILE_BYTES", 10 * 1024 * 1024))
    #: where stored files live: outside the web root, never served directly
    FILE_STORAGE_DIR = os.environ.get("FILE_STORAGE_DIR", str(BASE_DIR / "instance" / "files"))
    #: logs on stderr: "json" (one object a line) or "text"; unset, json outside development (core/logs.py)
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    #: where `flask backup` writes its archives when not given --output
    BACKUP_DIR = os.environ.get("BACKUP_DIR", str(BASE_DIR / "instance" / "backups"))

    #: signed-in sessions end after this many minutes without a request
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", 120))
    #: number of reverse proxies in front of the app whose X-Forwarded-* headers to trust
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", 0))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime bounds the token

    # Redis, when REDIS_URL is set: rate limits, and jobs on RQ (see audit_app/core/jobs.py).
    REDIS_URL = os.environ.get("REDIS_URL")
    #: run jobs in the web process after commit; off by default when REDIS_URL is set (RQ workers run them)
    JOBS_INLINE = _bool("JOBS_INLINE", not os.environ.get("REDIS_URL"))
    #: the RQ queue jobs go to
    JOBS_QUEUE = os.environ.get("JOBS_QUEUE", "audit")
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    #: consecutive failed sign-ins (wrong password or second-factor code) that lock an address until an admin
    #: unlocks it
    SIGN_IN_LOCKOUT_ATTEMPTS = int(os.environ.get("SIGN_IN_LOCKOUT_ATTEMPTS", 5))
    #: answers one practitioner-survey link takes: a burst limit (Flask-Limiter syntax) and a day's total
    SURVEY_RATE_LIMIT = os.environ.get("SURVEY_RATE_LIMIT", "60 per minute")
    SURVEY_DAILY_LIMIT = int(os.environ.get("SURVEY_DAILY_LIMIT", "500"))

    # Argon2id parameters (argon2-cffi defaults: RFC 9106 low-memory profile).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    #: how far password hashing's nice value is raised (Linux: it runs in threads of its own), so that a burst
    #: of sign-ins takes the CPU the pages leave rather than stalling them: on 2 cores a return's page took
    #: 22 ms alone, 215 ms beside four sign-ins hashing at the same priority, about 40 ms at +10 and 36 at +15.
    #: 0 hashes in the request's own thread at its own priority. The hash (parameters above) is the same.
    ARGON2_NICE = int(os.environ.get("ARGON2_NICE", "15"))

    # Email through SMTP. With no MAIL_SERVER, messages are written to the log
    # (development only; see README).
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "audit-app@localhost")
    MAIL_TIMEOUT = 10

    INVITE_MAX_AGE_SECONDS = 7 * 24 * 3600
    #: the address people use, for links in emails sent outside a request (reminders)
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    SERVICE_NAME = os.environ.get("SERVICE_NAME", "Safeguarding audit and learning")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", "development-only-not-secret")
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-only-not-secret"
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("TEST_DATABASE_URL"), f"sqlite:///{BASE_DIR / 'instance' / 'test.db'}"
    )
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = False  # tests/test_security.py switches it on
    RATELIMIT_STORAGE_URI = "memory://"
    JOBS_INLINE = True  # tests/test_core_jobs.py switches RQ on against a real Redis
    FILE_STORAGE_DIR = str(Path(tempfile.gettempdir()) / "audit-app-test-files")
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 8025  # tests/conftest.py starts an SMTP server on a free port and sets this


CONFIGS: dict[str, type[Config]] = {
    "production": Config,
    "development": DevelopmentConfig,
    "test": TestConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    """The config class named by ``name`` or ``APP_ENV``."""
    name = name or os.environ.get("APP_ENV", "production")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
