"""Password hashing runs below the pages' priority (ARGON2_NICE), with the same argon2id parameters: a burst of
sign-ins takes the CPU the pages leave, and a hash or a check answers exactly as before."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from audit_app.accounts import services

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="a nice value per thread is Linux's")


@linux_only
def test_hashing_runs_in_a_thread_of_lower_priority_with_the_same_parameters(app):
    with app.app_context():
        hasher = services._hasher()
        assert isinstance(hasher, services._LowPriorityHasher)
        stored = services.hash_password("correct horse battery staple")
        params = f"m={app.config['ARGON2_MEMORY_COST']},t={app.config['ARGON2_TIME_COST']}"
        assert stored.startswith("$argon2id$") and params in stored
        assert hasher.verify(stored, "correct horse battery staple") is True
        assert PasswordHasher().verify(stored, "correct horse battery staple")  # an ordinary argon2id hash
        with pytest.raises(VerifyMismatchError):
            hasher.verify(stored, "wrong horse battery staple")
        pool = services._low_priority_pool(app.config["ARGON2_NICE"])
        own = os.getpriority(os.PRIO_PROCESS, 0)
        there = pool.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result()
        assert there == min(19, own + app.config["ARGON2_NICE"])
        assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the request's own thread keeps its priority


def test_a_nice_of_zero_hashes_in_the_request_s_own_thread(app):
    nice = app.config["ARGON2_NICE"]
    app.config["ARGON2_NICE"] = 0
    try:
        with app.app_context():
            hasher = services._hasher()
            assert type(hasher) is PasswordHasher
            assert hasher.verify(services.hash_password("correct horse battery staple"), "correct horse battery staple")
    finally:
        app.config["ARGON2_NICE"] = nice
