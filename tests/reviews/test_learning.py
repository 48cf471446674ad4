"""A review's learning points (numbered, tagged from the partnership's learning themes) and its recommendations
on the composite action plan, through the services, the review's page, the forms and the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from audit_app.actions import services as actions
from audit_app.actions.models import Recommendation, SourceKind
from audit_app.core.audit import system_actor
from audit_app.core.errors import FieldErrors
from audit_app.extensions import db
from audit_app.questionnaires import learning_themes as lt
from audit_app.reviews import learning
from audit_app.reviews.models import LearningPoint, LearningReview, PublicationState, ReviewType
from tests.conftest import login

TODAY = date(2026, 11, 30)


def _review(partnership_id: int, pseudonym: str = "Child K", *, published: bool = False) -> LearningReview:
    with system_actor("test:setup"):
        review = LearningReview(
            partnership_id=partnership_id,
            review_type=ReviewType.RAPID_REVIEW,
            pseudonym=pseudonym,
            publication_state=PublicationState.PUBLISHED if published else PublicationState.NOT_FOR_PUBLICATION,
            published_on=date(2026, 10, 1) if published else None,
        )
        db.session.add(review)
        db.session.commit()
    return review


@pytest.fixture()
def review(world, clock):
    clock.set(TODAY)
    return _review(world.partnership.id)


def _themes(world) -> dict[str, int]:
    return {t.name: t.id for t in lt.themes_of(world.partnership.id)}


def _numbers(review: LearningReview) -> list[tuple[int, str]]:
    points = db.session.scalars(
        sa.select(LearningPoint).where(LearningPoint.review_id == review.id).order_by(LearningPoint.number)
    )
    return [(p.number, p.text) for p in points]


def test_points_are_numbered_moved_and_renumbered_on_delete(world, review):
    themes = _themes(world)
    with system_actor("test"):
        with pytest.raises(FieldErrors) as refused:
            learning.add_point(review, "  ", [999_999])
        assert set(refused.value.fields) == {"text", "theme_ids"}
        with pytest.raises(FieldErrors) as refused:
            learning.add_point(review, "x" * 4001)
        assert "4,000 characters" in refused.value.fields["text"][0]
        # another partnership's theme is not on offer
        theirs = lt.themes_of(world.other_partnership.id)[0]
        with pytest.raises(FieldErrors):
            learning.add_point(review, "A", [theirs.id])
        a = learning.add_point(review, "A", [themes["Information sharing"], themes["Escalation"]])
        b = learning.add_point(review, "B")
        c = learning.add_point(review, "C")
        learning.add_point(review, "D")
        assert _numbers(review) == [(1, "A"), (2, "B"), (3, "C"), (4, "D")]
        assert [t.name for t in a.themes] == ["Information sharing", "Escalation"]
        learning.move_point(c, 1)
        assert _numbers(review) == [(1, "C"), (2, "A"), (3, "B"), (4, "D")]
        with pytest.raises(FieldErrors):
            learning.move_point(c, 5)
        learning.delete_point(a)
        assert _numbers(review) == [(1, "C"), (2, "B"), (3, "D")]
        learning.update_point(b, " B, changed ", [themes["Recording"]])
        db.session.commit()
    assert _numbers(review) == [(1, "C"), (2, "B, changed"), (3, "D")]
    assert [t.name for t in b.themes] == ["Recording"]


def test_a_retired_theme_is_kept_but_not_newly_tagged(world, review):
    themes = _themes(world)
    with system_actor("test"):
        point = learning.add_point(review, "A", [themes["Think family"]])
        lt.retire_theme(db.session.get(type(point.themes[0]), themes["Think family"]))
        # kept on the point it was on
        learning.update_point(point, "A again", [themes["Think family"], themes["Recording"]])
        assert {t.name for t in point.themes} == {"Think family", "Recording"}
        with pytest.raises(FieldErrors) as refused:
            learning.add_point(review, "B", [themes["Think family"]])
        assert "retired" in refused.value.fields["theme_ids"][0]
        db.session.commit()


def test_the_qa_group_writes_learning_on_the_review_page(client, world, review):
    themes = _themes(world)
    login(client, world.user("qa_member"))
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "No learning points recorded yet" in page and "Add a learning point" in page
    assert "Add a recommendation" in page
    form = client.get(f"/reviews/{review.id}/learning-points/new").get_data(as_text=True)
    assert "Professional curiosity" in form
    refused = client.post(f"/reviews/{review.id}/learning-points/new", data={"text": "", "theme_ids": ["junk"]})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "There is a problem" in text and "Enter the learning point" in text and "Choose learning themes" in text
    for words in ("Nobody asked who lived at home", "Referrals were not escalated"):
        done = client.post(
            f"/reviews/{review.id}/learning-points/new",
            data={"text": words, "theme_ids": [str(themes["Professional curiosity"])]},
        )
        assert done.status_code == 303
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Learning point 1" in page and "Learning point 2" in page and "Professional curiosity" in page
    second = db.session.scalar(sa.select(LearningPoint).where(LearningPoint.number == 2))
    assert client.post(f"/learning-points/{second.id}/move", data={"direction": "up"}).status_code == 303
    assert _numbers(review)[0] == (1, "Referrals were not escalated")
    assert client.post(f"/learning-points/{second.id}/move", data={"direction": "junk"}).status_code == 303
    edit = client.post(f"/learning-points/{second.id}/edit", data={"text": "x", "number": "9"})
    assert edit.status_code == 400 and "from 1 to 2" in edit.get_data(as_text=True)
    edit = client.post(f"/learning-points/{second.id}/edit", data={"text": "Escalation failed", "number": "2"})
    assert edit.status_code == 303
    assert _numbers(review) == [(1, "Nobody asked who lived at home"), (2, "Escalation failed")]
    assert client.post(f"/learning-points/{second.id}/delete").status_code == 303
    assert _numbers(review) == [(1, "Nobody asked who lived at home")]


def test_who_sees_and_writes_learning(client, world, review):
    with system_actor("test"):
        point = learning.add_point(review, "Unpublished learning")
        db.session.commit()
    # a scrutineer reads the unpublished review's learning, but does not write it
    login(client, world.user("scrutineer"))
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Unpublished learning" in page and "Add a learning point" not in page
    assert client.get(f"/reviews/{review.id}/learning-points/new").status_code == 403
    assert client.post(f"/learning-points/{point.id}/delete").status_code == 403
    # agency staff: the unpublished review is not there
    login(client, world.user("agency_lead"))
    assert client.get(f"/reviews/{review.id}").status_code == 404
    published = _review(world.partnership.id, "Baby Y", published=True)
    with system_actor("test"):
        learning.add_point(published, "Published learning")
        db.session.commit()
    page = client.get(f"/reviews/{published.id}").get_data(as_text=True)
    assert "Published learning" in page and "Add a learning point" not in page
    # another partnership's admin: not there
    login(client, world.user("other_admin"))
    assert client.get(f"/learning-points/{point.id}/edit").status_code == 404
    assert client.get(f"/reviews/{review.id}/learning-points/new").status_code == 404


def test_recommendations_from_a_review_feed_the_plan(client, world, review):
    other_review = _review(world.other_partnership.id, "Child Z")
    with system_actor("test"):
        with pytest.raises(FieldErrors) as refused:
            actions.create_recommendation(world.partnership.id, actions.RecommendationIn(source="review", text="A"))
        assert "review_id" in refused.value.fields
        with pytest.raises(FieldErrors) as refused:
            actions.create_recommendation(
                world.partnership.id, actions.RecommendationIn(source="review", review_id=other_review.id, text="A")
            )
        assert refused.value.fields["review_id"] == ["Choose a learning review of this partnership"]
        first = actions.create_recommendation(
            world.partnership.id,
            actions.RecommendationIn(source="review", review_id=review.id, text="Train on curiosity"),
        )
        db.session.commit()
    assert (first.source, first.review_id, first.number, first.source_key) == (
        SourceKind.REVIEW,
        review.id,
        1,
        f"review:{review.id}",
    )
    assert first.source_label == "Rapid review: Child K"
    assert learning.review_recommendations(review) == [first]

    login(client, world.user("qa_member"))
    form = client.get(f"/recommendations/new?source=review&review_id={review.id}").get_data(as_text=True)
    assert 'value="review" checked' in form and f'value="{review.id}" selected' in form
    refused = client.post("/recommendations/new", data={"source": "review", "review_id": "", "text": "B"})
    assert refused.status_code == 400
    assert "Choose the learning review the recommendation came from" in refused.get_data(as_text=True)
    done = client.post(
        "/recommendations/new",
        data={"source": "review", "review_id": str(review.id), "text": "Audit escalation", "themes": ["Escalation"]},
    )
    assert done.status_code == 303
    second = db.session.scalar(sa.select(Recommendation).where(Recommendation.text == "Audit escalation"))
    assert (second.number, second.review_id, second.theme_names) == (2, review.id, ["Escalation"])
    with system_actor("test"):
        actions.add_action(
            second,
            actions.ActionIn(
                title="Run the escalation audit",
                owner_user_id=world.user("qa_member").id,
                due_on=TODAY + timedelta(days=30),
                rag="amber",
            ),
        )
        db.session.commit()
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Train on curiosity" in page and "Run the escalation audit" in page and "Amber" in page
    # the plan names the review as the source and filters by it
    plan = client.get(f"/actions?source=review:{review.id}").get_data(as_text=True)
    assert "Rapid review: Child K" in plan and "Run the escalation audit" in plan
    assert "Any learning review" in plan
    # the recommendation's page names and links the review
    detail = client.get(f"/recommendations/{second.id}").get_data(as_text=True)
    assert f'/reviews/{review.id}#recommendations">Rapid review: Child K</a>' in detail
    # the edit form keeps the review chosen
    edit = client.get(f"/recommendations/{second.id}/edit").get_data(as_text=True)
    assert f'value="{review.id}" selected' in edit


def test_learning_points_and_recommendations_through_the_api(world, review, api):
    themes = _themes(world)
    qa = api(world.user("qa_member"))
    refused = qa.post(f"/api/v1/reviews/{review.id}/learning-points", json={"text": "", "theme_ids": [999_999]})
    assert refused.status_code == 400
    assert set(refused.get_json()["error"]["fields"]) == {"text", "theme_ids"}
    made = qa.post(
        f"/api/v1/reviews/{review.id}/learning-points",
        json={"text": "Curiosity", "theme_ids": [themes["Professional curiosity"]]},
    )
    assert made.status_code == 201
    body = made.get_json()
    assert body["number"] == 1 and body["review_title"] == "Rapid review: Child K"
    assert body["themes"] == [
        {"id": themes["Professional curiosity"], "name": "Professional curiosity", "retired": False}
    ]
    second = qa.post(f"/api/v1/reviews/{review.id}/learning-points", json={"text": "Escalation"}).get_json()
    moved = qa.patch(f"/api/v1/learning-points/{second['id']}", json={"number": 1}).get_json()
    assert moved["number"] == 1
    listed = api(world.user("scrutineer")).get(f"/api/v1/reviews/{review.id}/learning-points").get_json()
    assert [(p["number"], p["text"]) for p in listed["items"]] == [(1, "Escalation"), (2, "Curiosity")]
    assert (
        api(world.user("scrutineer")).post(f"/api/v1/reviews/{review.id}/learning-points", json={}).status_code == 403
    )
    assert api(world.user("auditor")).get(f"/api/v1/reviews/{review.id}/learning-points").status_code == 404
    assert qa.delete(f"/api/v1/learning-points/{second['id']}").status_code == 204
    listed = qa.get(f"/api/v1/reviews/{review.id}/learning-points").get_json()
    assert [(p["number"], p["text"]) for p in listed["items"]] == [(1, "Curiosity")]

    rec = qa.post("/api/v1/recommendations", json={"source": "review", "review_id": review.id, "text": "Train"})
    assert rec.status_code == 201, rec.get_json()
    assert rec.get_json()["review"] == {"id": review.id, "title": "Rapid review: Child K"}
    assert rec.get_json()["source_name"] == "Rapid review: Child K"
    assert rec.get_json()["source_key"] == f"review:{review.id}"
    bad = qa.post("/api/v1/recommendations", json={"source": "review", "text": "Train"})
    assert bad.status_code == 400 and "review_id" in bad.get_json()["error"]["fields"]
    listed = qa.get(f"/api/v1/reviews/{review.id}/recommendations").get_json()
    assert [(r["number"], r["text"], r["source_label"]) for r in listed["items"]] == [
        (1, "Train", "Rapid review: Child K")
    ]
    by_source = qa.get("/api/v1/recommendations?source=review").get_json()
    assert [r["text"] for r in by_source["items"]] == ["Train"]
