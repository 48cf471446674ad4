"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py wsgi:app` (see docs/deployment.md).

Every value can be changed through the environment named beside it, so the systemd unit and the Procfile
stay the same from one server to the next.
"""

import os

#: where nginx (or another TLS-terminating proxy) sends requests; never exposed to the internet directly
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
#: processes. 4 suits 2 CPU cores (pages wait on the database)
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
#: each process serves several requests at once in threads, so a page is not queued behind a sign-in that
#: is hashing its password in the same process (argon2 releases the GIL and runs below the pages' priority:
#: ARGON2_NICE in config.py) or behind a request waiting on the database
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
#: a process takes a connection only when one of its threads is free, so a request waits in the shared queue
#: for whichever process frees up first, not behind a busy process's requests (gthread otherwise accepts
#: up to 1,000 connections a process and queues them there)
worker_connections = threads
#: a request still running after this many seconds is stopped and its worker replaced. A PDF is drawn by the
#: job worker when REDIS_URL is set; without Redis it is drawn inside the request, so keep this above the
#: slowest report (bench/results-report.md) in that case
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
#: no keep-alive: each connection carries one request (as nginx sends them by default: HTTP/1.0 upstream), so
#: every request is balanced across the processes, and a client never sends a request on a connection the
#: server is just closing for idleness
keepalive = 0
#: each worker is replaced after about this many requests, so slow leaks cannot build up
max_requests = 2000
max_requests_jitter = 200
#: the proxy's X-Forwarded-* headers are trusted by the application itself (PROXY_FIX_HOPS), not here
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

#: no access log from gunicorn: the application writes one JSON line per request (audit_app.request), with
#: the route rule instead of the URL (no query strings) and no IP address (see audit_app/core/logs.py)
accesslog = None
errorlog = "-"
loglevel = "info"
#: gunicorn's own lines (starting, a worker timed out) as JSON too
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "audit_app.core.logs.JsonFormatter"}},
    "handlers": {
        "gunicorn_json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["gunicorn_json"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
    # the application adds its own handler to the root logger when it starts (LOG_FORMAT)
    "root": {"level": "INFO", "handlers": []},
}


def post_worker_init(worker) -> None:
    """Compile every template while the worker boots (about 2 s of CPU), rather than each on its first use:
    otherwise a new worker's first requests of each page wait for it (the sign-in page's first render took
    ~200 ms, a round's page more), and workers are replaced every ~2,000 requests (max_requests). Here, not in
    wsgi.py, so the command-line tools (``flask --app wsgi ...``) do not pay for it."""
    import gc

    env = getattr(worker.wsgi, "jinja_env", None)
    if env is None:
        return
    for name in env.list_templates():
        env.get_template(name)
    gc.collect()
    gc.freeze()  # the compiled templates live as long as the process too (see wsgi.py)
