"""Emails about a round's returns go from a job after the change commits, never inside the request, and the
round's page reports who was emailed and who could not be."""

from __future__ import annotations

import sqlalchemy as sa

from audit_app.core.jobs import pending_jobs
from audit_app.extensions import db
from audit_app.rounds import services
from audit_app.rounds.models import AgencyEmail, EmailKind, EmailOutcome, RoundStatus
from audit_app.rounds.notifications import queue_round_emails
from tests.core.test_core_jobs import _work, redis_jobs  # noqa: F401  (the fixture)
from tests.rounds.test_audit_views import _plan, version  # noqa: F401  (the fixture)


def _planned_round(client, world, version):  # noqa: F811
    round_ = _plan(client, world, version)
    client.post(
        f"/rounds/{round_.id}/cases",
        data={"reference": "CS-1", "agency_ids": [str(world.police.agency_id), str(world.health.agency_id)]},
    )
    return round_


def test_opening_queues_the_emails_and_a_rollback_sends_none(client, world, version, mailbox):  # noqa: F811
    round_ = _planned_round(client, world, version)
    services.move_round(round_, RoundStatus.OPEN)
    assert queue_round_emails(round_, EmailKind.OPENED) == 2
    assert [job.name for job in pending_jobs()] == ["audit_app.rounds.notifications.send_round_emails"]
    assert mailbox == []  # nothing is sent before the change commits
    db.session.rollback()
    db.session.commit()
    assert mailbox == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AgencyEmail)) == 0


def test_with_a_queue_the_request_sends_nothing_and_the_worker_sends_and_records(
    app,
    client,
    world,
    version,  # noqa: F811
    mailbox,
    redis_jobs,  # noqa: F811
):
    round_ = _planned_round(client, world, version)
    page = client.post(f"/rounds/{round_.id}/status", data={"to": "open"}, follow_redirects=True)
    assert page.status_code == 200
    assert mailbox == [] and redis_jobs.count == 1
    assert "Emailed" not in page.get_data(as_text=True)
    _work(redis_jobs)
    assert len(mailbox) == 1
    emails = db.session.scalars(sa.select(AgencyEmail).where(AgencyEmail.round_id == round_.id)).all()
    outcomes = {email.agency_id: email.outcome for email in emails}
    assert outcomes == {world.police.agency_id: EmailOutcome.SENT, world.health.agency_id: EmailOutcome.NOBODY}
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "Emailed 1 agencies: North Police" in page
    assert "North Hospital (nobody with an auditor or agency lead role)" in page


def test_chasing_one_agency_writes_to_that_agency_only(client, world, version, mailbox):  # noqa: F811
    round_ = _planned_round(client, world, version)
    client.post(f"/rounds/{round_.id}/status", data={"to": "open"})
    mailbox.clear()
    page = client.post(
        f"/rounds/{round_.id}/chase", data={"agency_id": str(world.police.agency_id)}, follow_redirects=True
    ).get_data(as_text=True)
    assert len(mailbox) == 1 and mailbox[0]["Subject"].startswith("Reminder:")
    assert "Emails about the latest reminder" in page and "Emailed 1 agencies: North Police" in page
    assert "North Hospital" not in page.split('id="emails"')[1].split("</div>")[0]
