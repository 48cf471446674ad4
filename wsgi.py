"""WSGI entry point: ``gunicorn wsgi:app``."""

import gc

from audit_app import create_app

app = create_app()

# Compile every template now, while the worker boots (about 2 s of CPU), rather than each on its first use:
# otherwise a new worker's first requests of each page wait for it (the sign-in page's first render took
# ~200 ms, a round's page more), and gunicorn replaces workers every ~2,000 requests (max_requests).
for _name in app.jinja_env.list_templates():
    app.jinja_env.get_template(_name)

# Everything loaded so far lives as long as the process: keep it out of the garbage
# collector's full passes, which otherwise take ~100 ms with every module walked
# (bench/results.md, the gc.freeze() row).
gc.collect()
gc.freeze()
