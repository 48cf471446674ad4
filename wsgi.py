"""WSGI entry point: ``gunicorn wsgi:app``."""

import gc

from audit_app import create_app

app = create_app()

# Everything loaded so far lives as long as the process: keep it out of the garbage
# collector's full passes, which otherwise take ~100 ms with every module walked
# (bench/results.md, the gc.freeze() row).
gc.collect()
gc.freeze()
