"""Questionnaire files that would cost the server dearly or fail in the database: refused, quickly, with a reason."""

from __future__ import annotations

import json
import time

import pytest

from audit_app.core.inputs import UNSTORABLE
from audit_app.questionnaires.spec import SpecError, parse_text, to_yaml
from tests.conftest import login
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


def _alias_bomb(levels: int = 6, width: int = 10) -> str:
    """Aliases expanding to width**levels items (here a million) from a few hundred characters."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def _problem(text: str) -> str:
    with pytest.raises(SpecError) as refused:
        parse_text(text)
    return str(refused.value.problems[0])


def test_an_alias_bomb_is_refused_in_well_under_a_second():
    # CPU time, not wall time: the suite runs on every core, and other work on the machine must not count.
    started = time.process_time()
    problem = _problem(_alias_bomb())
    assert time.process_time() - started < 0.5
    assert "anchors and aliases" in problem


def test_any_anchor_is_refused_before_it_is_used():
    assert "anchors and aliases" in _problem("key: &k value\nother: 1\n")
    assert "anchors and aliases" in _problem("title: *undefined\n")


def test_deep_nesting_is_refused_not_a_recursion_error():
    started = time.process_time()
    assert "nested more than 32 levels" in _problem("a: " + "[" * 50_000 + "]" * 50_000)
    assert time.process_time() - started < 1


def test_a_nul_escape_in_a_quoted_string_is_refused_naming_where():
    assert _problem('title: "Safe\\0guarding"\n').startswith("title")
    assert UNSTORABLE in _problem('title: "Safe\\0guarding"\n')


def test_ordinary_files_and_json_still_read():
    assert parse_text(to_yaml(EXAMPLE)) == json.loads(json.dumps(EXAMPLE))
    assert parse_text(json.dumps(EXAMPLE))["title"] == EXAMPLE["title"]


def test_the_api_refuses_an_alias_bomb_quickly(api, world):
    started = time.process_time()
    response = api(world.user("qa_member")).post(
        "/api/v1/questionnaires/import", data=_alias_bomb(), headers={"Content-Type": "application/yaml"}
    )
    assert time.process_time() - started < 1
    assert response.status_code == 400
    assert "anchors and aliases" in json.dumps(response.json)


def test_the_api_json_import_is_guarded_like_every_body(api, world):
    qa = api(world.user("qa_member"))
    deep = qa.post(
        "/api/v1/questionnaires/import",
        data='{"a": ' + "[" * 1000 + "]" * 1000 + "}",
        headers={"Content-Type": "application/json"},
    )
    assert deep.status_code == 400
    nul = qa.post("/api/v1/questionnaires/import", json={**EXAMPLE, "title": "Safe\x00guarding"})
    assert nul.status_code == 400 and nul.json["error"]["message"] == f"'title' {UNSTORABLE}"


def test_the_import_page_refuses_an_alias_bomb(client, world):
    login(client, world.user("qa_member"))
    started = time.process_time()
    response = client.post("/questionnaires/import", data={"text": _alias_bomb()})
    assert time.process_time() - started < 1
    assert response.status_code in (200, 400)
    assert "anchors and aliases" in response.get_data(as_text=True)
