"""An action's and a recommendation's recorded changes, on the audit trail's history page."""

from __future__ import annotations

from audit_app.actions import services
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from tests.conftest import login
from tests.factories import make_action, make_recommendation


def test_an_action_s_history_holds_its_updates_and_moves_and_stays_in_its_partnership(client, world):
    rec = make_recommendation(world.partnership.id, "Invite health to every strategy discussion")
    action = make_action(rec, "Add health to the invitation list", owner=world.user("auditor"))
    with system_actor("test"):
        services.post_update(action, services.UpdateIn(note="List drafted with the MASH", rag="amber"), by=None)
        services.move_due_date(action, action.due_on.replace(year=action.due_on.year + 1), "Provider delay", by=None)
    db.session.commit()
    login(client, world.user("admin"))
    page = client.get(f"/history/action/{action.id}").get_data(as_text=True)
    assert "Action: Add health to the invitation list" in page
    assert "List drafted with the MASH" in page and "Provider delay" in page
    rec_page = client.get(f"/history/recommendation/{rec.id}").get_data(as_text=True)
    assert "Recommendation 1: Board challenge" in rec_page and "Add health to the invitation list" in rec_page
    login(client, world.user("other_admin"))
    assert client.get(f"/history/action/{action.id}").status_code == 404
    assert client.get(f"/history/recommendation/{rec.id}").status_code == 404
