"""The partnership's list of learning themes: seeded for a new partnership, kept by admins and the QA group (add,
rename with the recommendations' tags following, order, retire, restore, delete only when never used), read by
every member, through the services, the pages and the API."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.actions import services as actions
from audit_app.actions.models import RecommendationTheme
from audit_app.core.audit import system_actor
from audit_app.core.errors import FieldErrors, NotAllowedError
from audit_app.extensions import db
from audit_app.questionnaires import learning_themes as lt
from audit_app.questionnaires.models import DEFAULT_LEARNING_THEMES, LearningTheme
from audit_app.reviews import learning
from audit_app.reviews.models import LearningReview, ReviewType
from tests.conftest import login


def _names(partnership_id: int, **kwargs) -> list[str]:
    return [t.name for t in lt.themes_of(partnership_id, **kwargs)]


def _theme(partnership_id: int, name: str) -> LearningTheme:
    return db.session.scalar(
        sa.select(LearningTheme).where(LearningTheme.partnership_id == partnership_id, LearningTheme.name == name)
    )


def test_a_new_partnership_starts_with_the_default_list_in_order(world):
    assert _names(world.partnership.id) == list(DEFAULT_LEARNING_THEMES)
    assert _names(world.other_partnership.id) == list(DEFAULT_LEARNING_THEMES)
    # each partnership has its own rows
    mine = {t.id for t in lt.themes_of(world.partnership.id)}
    theirs = {t.id for t in lt.themes_of(world.other_partnership.id)}
    assert mine and not mine & theirs


def test_names_are_unique_whatever_the_capitals_and_every_bad_field_is_named(world):
    pid = world.partnership.id
    with system_actor("test"):
        with pytest.raises(FieldErrors) as refused:
            lt.add_theme(pid, "  escalation ", "x" * 2001)
        assert set(refused.value.fields) == {"name", "description"}
        assert "already has a learning theme called Escalation" in refused.value.fields["name"][0]
        with pytest.raises(FieldErrors) as refused:
            lt.add_theme(pid, "x" * 121)
        assert "120 characters" in refused.value.fields["name"][0]
        with pytest.raises(FieldErrors):
            lt.add_theme(pid, "   ")
        added = lt.add_theme(pid, "  Neglect   and  poverty ", "Where poverty hides neglect")
        # the other partnership may use the same name
        lt.add_theme(world.other_partnership.id, "Neglect and poverty")
        db.session.commit()
    assert added.name == "Neglect and poverty"
    assert _names(pid)[-1] == "Neglect and poverty"


def test_renaming_renames_the_recommendation_tags_of_the_partnership_only(world):
    pid = world.partnership.id
    with system_actor("test"):
        rec = actions.create_recommendation(
            pid, actions.RecommendationIn(source="other", source_description="JTAI", text="Ask.", themes=["Escalation"])
        )
        theirs = actions.create_recommendation(
            world.other_partnership.id,
            actions.RecommendationIn(source="other", source_description="JTAI", text="Ask.", themes=["Escalation"]),
        )
        theme = _theme(pid, "Escalation")
        with pytest.raises(FieldErrors):
            lt.update_theme(theme, "recording", "")
        lt.update_theme(theme, "Escalation and resolution", "Challenging decisions")
        db.session.commit()
    assert db.session.get(type(rec), rec.id).theme_names == ["Escalation and resolution"]
    assert db.session.get(type(theirs), theirs.id).theme_names == ["Escalation"]
    # the plan's theme picker offers the list first, in its order
    choices = actions.learning_theme_choices(pid)
    assert choices[: len(DEFAULT_LEARNING_THEMES)] == _names(pid, active_only=True)
    assert "Escalation" not in choices


def test_moving_retiring_restoring_and_deleting(world):
    pid = world.partnership.id
    first, second = DEFAULT_LEARNING_THEMES[:2]
    with system_actor("test"):
        lt.move_theme(_theme(pid, second), "up")
        assert _names(pid)[:2] == [second, first]
        lt.move_theme(_theme(pid, second), "up")  # already first: stays
        assert _names(pid)[:2] == [second, first]
        with pytest.raises(FieldErrors):
            lt.move_theme(_theme(pid, first), "sideways")
        recording = _theme(pid, "Recording")
        lt.retire_theme(recording)
        assert "Recording" not in _names(pid, active_only=True)
        assert _names(pid)[-1] == "Recording"
        assert "Recording" not in actions.learning_theme_choices(pid)
        lt.restore_theme(recording)
        assert _names(pid, active_only=True)[-1] == "Recording"
        # used by a learning point: not deleted (retire instead)
        review = LearningReview(partnership_id=pid, review_type=ReviewType.THEMATIC_REVIEW, pseudonym="Child T")
        db.session.add(review)
        db.session.flush()
        learning.add_point(review, "Nobody asked.", [recording.id])
        with pytest.raises(NotAllowedError):
            lt.delete_theme(recording)
        # used by a recommendation, by name
        drift = _theme(pid, "Drift and delay")
        actions.create_recommendation(
            pid, actions.RecommendationIn(source="other", source_description="X", text="Y", themes=["drift and delay"])
        )
        with pytest.raises(NotAllowedError):
            lt.delete_theme(drift)
        never = _theme(pid, "Think family")
        lt.delete_theme(never)
        db.session.commit()
    assert "Think family" not in _names(pid)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecommendationTheme)) == 1


def test_pages_every_member_reads_the_qa_group_keeps(client, world):
    pid = world.partnership.id
    login(client, world.user("auditor"))
    page = client.get("/learning-themes").get_data(as_text=True)
    assert "Professional curiosity" in page and "Add a learning theme" not in page and "Retire" not in page
    assert client.get("/learning-themes/new").status_code == 403
    login(client, world.user("qa_member"))
    page = client.get("/learning-themes").get_data(as_text=True)
    assert "Add a learning theme" in page
    refused = client.post("/learning-themes/new", data={"name": "VOICE OF THE CHILD"})
    assert refused.status_code == 400
    assert "There is a problem" in refused.get_data(as_text=True)
    assert "already has a learning theme called Voice of the child" in refused.get_data(as_text=True)
    done = client.post("/learning-themes/new", data={"name": "Neglect", "description": "Chronic neglect"})
    assert done.status_code == 303
    neglect = _theme(pid, "Neglect")
    assert client.post(f"/learning-themes/{neglect.id}/move", data={"direction": "up"}).status_code == 303
    assert _names(pid)[-2:] == ["Neglect", "Cross-border working"]
    assert client.post(f"/learning-themes/{neglect.id}/move", data={"direction": "junk"}).status_code == 303
    edit = client.post(f"/learning-themes/{neglect.id}/edit", data={"name": "", "description": "x" * 2001})
    assert edit.status_code == 400
    assert client.post(f"/learning-themes/{neglect.id}/edit", data={"name": "Neglect (chronic)"}).status_code == 303
    assert client.post(f"/learning-themes/{neglect.id}/retire").status_code == 303
    page = client.get("/learning-themes").get_data(as_text=True)
    assert "Retired" in page and "Offer again" in page
    assert client.post(f"/learning-themes/{neglect.id}/restore").status_code == 303
    assert client.post(f"/learning-themes/{neglect.id}/delete").status_code == 303
    assert _theme(pid, "Neglect (chronic)") is None
    # another partnership's theme is not there
    theirs = lt.themes_of(world.other_partnership.id)[0]
    assert client.post(f"/learning-themes/{theirs.id}/edit", data={"name": "Mine"}).status_code == 404


def test_learning_themes_through_the_api(world, api):
    pid = world.partnership.id
    qa = api(world.user("qa_member"))
    listed = api(world.user("auditor")).get("/api/v1/learning-themes").get_json()
    assert [t["name"] for t in listed["items"]] == list(DEFAULT_LEARNING_THEMES)
    assert listed["items"][0]["status"] == "active" and listed["items"][0]["status_label"] == "In use"
    assert api(world.user("auditor")).post("/api/v1/learning-themes", json={"name": "A"}).status_code == 403
    refused = qa.post("/api/v1/learning-themes", json={"name": "recording", "description": "x" * 2001})
    assert refused.status_code == 400
    assert set(refused.get_json()["error"]["fields"]) == {"name", "description"}
    made = qa.post("/api/v1/learning-themes", json={"name": "Neglect"})
    assert made.status_code == 201
    theme_id = made.get_json()["id"]
    assert made.get_json()["position"] == len(DEFAULT_LEARNING_THEMES) + 1
    moved = qa.patch(f"/api/v1/learning-themes/{theme_id}", json={"move": "up", "description": "Chronic"})
    assert moved.get_json()["position"] == len(DEFAULT_LEARNING_THEMES)
    assert moved.get_json()["description"] == "Chronic"
    retired = qa.patch(f"/api/v1/learning-themes/{theme_id}", json={"retired": True}).get_json()
    assert retired["retired"] is True and retired["status_label"] == "Retired"
    assert qa.patch(f"/api/v1/learning-themes/{theme_id}", json={"move": "left"}).status_code == 400
    recording = _theme(pid, "Recording")
    with system_actor("test"):
        actions.create_recommendation(
            pid, actions.RecommendationIn(source="other", source_description="X", text="Y", themes=["Recording"])
        )
        db.session.commit()
    assert qa.delete(f"/api/v1/learning-themes/{recording.id}").status_code == 409
    assert qa.delete(f"/api/v1/learning-themes/{theme_id}").status_code == 204
    theirs = lt.themes_of(world.other_partnership.id)[0]
    assert qa.patch(f"/api/v1/learning-themes/{theirs.id}", json={"name": "Mine"}).status_code == 404
