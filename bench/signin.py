"""Sign-in timing: a wrong password and an unknown email must cost the same, so timing reveals no account.

Run: ``PYTHONPATH=. .venv/bin/python bench/signin.py`` (a throwaway SQLite database, the production argon2id
parameters). Prints the median of 15 sign-in checks for each path.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

from flask_migrate import upgrade

from audit_app import create_app
from audit_app.accounts import services
from audit_app.accounts.models import Role
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from config import Config


def main() -> None:
    path = os.path.join(tempfile.mkdtemp(prefix="audit-signin-"), "signin.db")
    app = create_app(
        "test",
        ARGON2_TIME_COST=Config.ARGON2_TIME_COST,
        ARGON2_MEMORY_COST=Config.ARGON2_MEMORY_COST,
        ARGON2_PARALLELISM=Config.ARGON2_PARALLELISM,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
    )
    with app.app_context():
        upgrade()
        with system_actor("bench:signin"):
            partnership = services.create_partnership("Timing")
            services.create_user(
                partnership.id,
                email="known@example.org",
                name="Known",
                role=Role.ADMIN,
                password="a-long-password-1",  # noqa: S106  (a throwaway database)
            )
            db.session.commit()

        def timed(email: str) -> float:
            started = time.perf_counter()
            services.authenticate(email, "not-the-password")
            return time.perf_counter() - started

        timed("nobody@example.org")  # warm-up
        # Alternate the two, so a busy machine slows both alike.
        pairs = [(timed("known@example.org"), timed("nobody@example.org")) for _ in range(15)]
        wrong = statistics.median(a for a, _ in pairs) * 1000
        unknown = statistics.median(b for _, b in pairs) * 1000
        print(f"wrong password: {wrong:.0f} ms; unknown email: {unknown:.0f} ms; ratio {unknown / wrong:.2f}")


if __name__ == "__main__":
    main()
