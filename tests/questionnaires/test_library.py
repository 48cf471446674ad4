"""The shipped library: parsed once per process (it took seconds a page), handed out as copies."""

from __future__ import annotations

import time

from audit_app.questionnaires import services


def test_the_library_is_parsed_once_and_each_caller_gets_its_own_copy():
    first = services.library()
    first[0]["data"]["title"] = "Changed by one caller"
    first[0]["data"]["sections"].clear()
    second = services.library()
    assert second[0]["data"]["title"] != "Changed by one caller"
    assert second[0]["data"]["sections"]
    started = time.process_time()
    services.library()
    assert time.process_time() - started < 1.0  # parsing the files again took over 5 seconds
