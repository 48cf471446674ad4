"""The register through the API: the same rules and access as the pages."""

from __future__ import annotations

from datetime import date

from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.reviews import services
from tests.factories import api_token

TODAY = date(2026, 3, 18)


def _headers(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(user)}"}


def test_a_review_is_started_changed_paused_and_resumed_through_the_api(client, world, clock):
    clock.set(TODAY)
    qa = _headers(world.user("qa_member"))
    refused = client.post(
        "/api/v1/reviews",
        json={"review_type": "rapid_review", "pseudonym": "J. Smith", "aware_on": "2026-03-19"},
        headers=qa,
    )
    assert refused.status_code == 400
    assert set(refused.get_json()["error"]["fields"]) == {"pseudonym", "aware_on"}
    bad_enum = client.post("/api/v1/reviews", json={"review_type": "inquiry", "pseudonym": "Child K"}, headers=qa)
    assert bad_enum.status_code == 400 and "review_type" in bad_enum.get_json()["error"]["fields"]
    created = client.post(
        "/api/v1/reviews",
        json={
            "review_type": "rapid_review",
            "pseudonym": "Child K",
            "aware_on": "2026-02-27",
            "notified_on": "2026-03-02",
        },
        headers=qa,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    review_id = body["id"]
    assert body["review_type_label"] == "Rapid review" and body["status"] == "in_progress"
    rapid = next(c for c in body["clocks"] if c["kind"] == "rapid_review")
    assert rapid["kind_label"] == "Rapid review" and rapid["due_on"] == "2026-03-23" and rapid["state"] == "due_soon"
    duplicate = client.post("/api/v1/reviews", json={"review_type": "lcspr", "pseudonym": "CHILD K"}, headers=qa)
    assert duplicate.status_code == 400 and "pseudonym" in duplicate.get_json()["error"]["fields"]

    patched = client.patch(
        f"/api/v1/reviews/{review_id}", json={"summary": "Bruising in a non-mobile baby"}, headers=qa
    )
    assert patched.status_code == 200 and patched.get_json()["summary"] == "Bruising in a non-mobile baby"
    assert patched.get_json()["notified_on"] == "2026-03-02"  # left out: kept
    bad_patch = client.patch(f"/api/v1/reviews/{review_id}", json={"notified_on": "2026-02-01"}, headers=qa)
    assert bad_patch.status_code == 400 and "notified_on" in bad_patch.get_json()["error"]["fields"]

    paused = client.post(
        f"/api/v1/reviews/{review_id}/pauses",
        json={"clock": "rapid_review", "paused_on": "2026-03-09", "reason": "Criminal proceedings"},
        headers=qa,
    )
    assert paused.status_code == 201, paused.get_json()
    pause_id = paused.get_json()["id"]
    clocks = client.get(f"/api/v1/reviews/{review_id}/clocks", headers=qa).get_json()["items"]
    rapid = next(c for c in clocks if c["kind"] == "rapid_review")
    assert rapid["state"] == "paused" and rapid["base_due_on"] == "2026-03-23" and rapid["due_on"] == "2026-04-01"
    assert rapid["pauses"][0]["reason"] == "Criminal proceedings"
    resumed = client.post(
        f"/api/v1/reviews/{review_id}/pauses/{pause_id}/resume", json={"resumed_on": "2026-03-16"}, headers=qa
    )
    assert resumed.status_code == 200 and resumed.get_json()["resumed_on"] == "2026-03-16"
    got = client.get(f"/api/v1/reviews/{review_id}", headers=qa).get_json()
    rapid = next(c for c in got["clocks"] if c["kind"] == "rapid_review")
    assert rapid["due_on"] == "2026-03-30" and rapid["paused_days"] == 5 and rapid["state_label"] == "Running"
    again = client.post(
        f"/api/v1/reviews/{review_id}/pauses/{pause_id}/resume", json={"resumed_on": "2026-03-17"}, headers=qa
    )
    assert again.status_code == 400 and "pause" in again.get_json()["error"]["fields"]
    no_clock = client.post(
        f"/api/v1/reviews/{review_id}/pauses", json={"clock": "practice_review", "reason": "x"}, headers=qa
    )
    assert set(no_clock.get_json()["error"]["fields"]) == {"clock", "paused_on"}

    publication = client.put(
        f"/api/v1/reviews/{review_id}/publication", json={"publication_state": "published"}, headers=qa
    )
    assert publication.status_code == 400
    assert set(publication.get_json()["error"]["fields"]) == {"published_on", "published_url"}
    published = client.put(
        f"/api/v1/reviews/{review_id}/publication",
        json={"publication_state": "published", "published_on": "2026-03-17", "published_url": "https://example.org/k"},
        headers=qa,
    )
    assert published.status_code == 200 and published.get_json()["publication_state_label"] == "Published"


def test_the_list_filters_and_agency_staff_see_published_reviews_only(client, world, clock):
    clock.set(TODAY)
    with system_actor("test:setup"):
        services.create_review(
            world.partnership.id, services.ReviewIn(review_type="rapid_review", pseudonym="Child A"), by=None
        )
        shown = services.create_review(
            world.partnership.id,
            services.ReviewIn(review_type="lcspr", pseudonym="Child B", aware_on=date(2025, 6, 1)),
            by=None,
        )
        services.set_publication(
            shown,
            services.PublicationIn(
                state="published", published_on=date(2026, 3, 1), published_url="https://example.org/b"
            ),
        )
        db.session.commit()
    scrutineer = _headers(world.user("scrutineer"))
    listed = client.get("/api/v1/reviews", headers=scrutineer).get_json()
    assert listed["total"] == 2 and {r["pseudonym"] for r in listed["items"]} == {"Child A", "Child B"}
    by_type = client.get("/api/v1/reviews?review_type=lcspr", headers=scrutineer).get_json()
    assert [r["pseudonym"] for r in by_type["items"]] == ["Child B"]
    by_year = client.get("/api/v1/reviews?year=2025", headers=scrutineer).get_json()
    assert [r["pseudonym"] for r in by_year["items"]] == ["Child B"]
    bad = client.get("/api/v1/reviews?review_type=inquiry&year=1", headers=scrutineer)
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]) == {"review_type", "year"}
    assert client.post("/api/v1/reviews", json={}, headers=scrutineer).status_code == 403
    auditor = _headers(world.user("auditor"))
    seen = client.get("/api/v1/reviews", headers=auditor).get_json()
    assert [r["pseudonym"] for r in seen["items"]] == ["Child B"]
    hidden_id = next(r["id"] for r in listed["items"] if r["pseudonym"] == "Child A")
    assert client.get(f"/api/v1/reviews/{hidden_id}", headers=auditor).status_code == 404
    assert client.get(f"/api/v1/reviews/{shown.id}/clocks", headers=auditor).status_code == 200
    other = _headers(world.user("other_admin"))
    assert client.get(f"/api/v1/reviews/{shown.id}", headers=other).status_code == 404
