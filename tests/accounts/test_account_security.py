"""Account security: lockout and unlock, two-factor sign-in (enrolment, codes, drift, replay, recovery codes),
the partnership's requirement of it, and signed-in sessions (accounts.security, its pages and its API)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from audit_app.accounts import security
from audit_app.accounts.models import Partnership, RecoveryCode, SignInFailure, User, UserSession
from audit_app.core import clock
from audit_app.core.audit import AuditEvent, system_actor
from audit_app.extensions import db
from tests.conftest import PASSWORD, login

LOCKED = "This account is locked because of too many failed sign-ins"
NOW = datetime(2026, 12, 1, 9, 0, 10, tzinfo=UTC)  # 10 seconds into a 30-second step


@pytest.fixture()
def frozen() -> Iterator[datetime]:
    clock.set_clock(NOW)
    try:
        yield NOW
    finally:
        clock.reset_clock()


def _sign_in(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def _code(secret: str, at: datetime, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(at + timedelta(seconds=30 * steps))


def _enrol(user: User) -> list[str]:
    """Two-factor sign-in on for ``user`` through the services (as the setup page does); its recovery codes."""
    with system_actor("test:setup"):
        security.start_enrolment(user)
        codes = security.confirm_enrolment(user, _code(user.totp_secret, clock.now()))
        db.session.commit()
    return codes


def _text(response) -> str:
    return response.get_data(as_text=True)


# -- lockout --


def test_five_wrong_passwords_lock_the_account_and_say_what_to_do(client, world):
    email = "auditor@north.example.org"
    for attempt in range(1, 5):
        response = _sign_in(client, email, "wrong-password-here")
        assert response.status_code == 400
        assert "Enter a correct email address and password" in _text(response), attempt
    fifth = _sign_in(client, email, "wrong-password-here")
    assert fifth.status_code == 400
    assert LOCKED in _text(fifth) and "Ask an administrator" in _text(fifth)
    # the right password does not get in while locked
    right = _sign_in(client, email, PASSWORD)
    assert right.status_code == 400 and LOCKED in _text(right)
    assert client.get("/account").status_code == 302


def test_a_successful_sign_in_resets_the_count(client, world):
    email = "auditor@north.example.org"
    for _ in range(4):
        _sign_in(client, email, "wrong-password-here")
    assert _sign_in(client, email, PASSWORD).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignInFailure)) == 0
    client.post("/logout")
    for _ in range(4):
        assert LOCKED not in _text(_sign_in(client, email, "wrong-password-here"))
    assert _sign_in(client, email, PASSWORD).status_code == 302


def test_an_unknown_email_locks_and_answers_exactly_as_a_real_one(client, world):
    """The answers for an address with no account match those for a real one, attempt by attempt."""
    known, unknown = "auditor@north.example.org", "nobody@north.example.org"
    for _ in range(5):  # ten sign-ins: the network address's rate limit (10 a minute) is not reached
        a = _sign_in(client, known, "wrong-password-here")
        b = _sign_in(client, unknown, "wrong-password-here")
        assert a.status_code == b.status_code == 400
        assert _text(a).replace(known, "EMAIL") == _text(b).replace(unknown, "EMAIL")
    assert LOCKED in _text(b)
    # nothing names the address: the failures are kept by a keyed hash only
    keys = db.session.scalars(sa.select(SignInFailure.email_key)).all()
    assert len(keys) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)


def test_an_admin_of_the_partnership_unlocks_and_it_is_recorded(client, world):
    auditor = world.user("auditor")
    for _ in range(5):
        _sign_in(client, auditor.email, "wrong-password-here")
    admin = login(client, world.user("admin"))
    page = _text(admin.get(f"/admin/users/{auditor.id}"))
    assert "Locked after too many failed sign-ins" in page and "Unlock account" in page
    assert "Locked" in _text(admin.get("/admin/users"))
    response = admin.post(f"/admin/users/{auditor.id}/unlock")
    assert response.status_code == 302
    assert not security.is_locked(auditor.email)
    event = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "User", AuditEvent.entity_id == auditor.id)
        .order_by(AuditEvent.id.desc())
    )
    assert event.after == {"sign_in": "unlocked"} and event.actor_id == world.user("admin").id
    assert event.partnership_id == world.partnership.id
    history = admin.get(f"/history/user/{auditor.id}")
    assert history.status_code == 200 and "unlocked" in _text(history)
    # unlocking what is not locked: a clear message, nothing recorded
    again = admin.post(f"/admin/users/{auditor.id}/unlock")
    assert again.status_code == 303
    assert "This account is not locked" in _text(admin.get(f"/admin/users/{auditor.id}"))
    client.post("/logout")
    assert _sign_in(client, auditor.email, PASSWORD).status_code == 302


def test_an_admin_of_another_partnership_gets_404_and_others_403(client, world, api):
    auditor = world.user("auditor")
    with system_actor("test:setup"):
        for _ in range(5):
            security.record_failure(auditor.email)
        db.session.commit()
    login(client, world.user("other_admin"))
    assert client.post(f"/admin/users/{auditor.id}/unlock").status_code == 404
    login(client, world.user("scrutineer"))
    assert client.post(f"/admin/users/{auditor.id}/unlock").status_code == 403
    assert api(world.user("other_admin")).post(f"/api/v1/users/{auditor.id}/unlock").status_code == 404
    assert api(world.user("qa_member")).post(f"/api/v1/users/{auditor.id}/unlock").status_code == 403
    assert security.is_locked(auditor.email)


def test_the_api_shows_and_unlocks_a_locked_account(world, api):
    auditor = world.user("auditor")
    admin = api(world.user("admin"))
    with system_actor("test:setup"):
        for _ in range(5):
            security.record_failure(auditor.email)
        db.session.commit()
    listed = {u["id"]: u for u in admin.get("/api/v1/users?per_page=100").json["items"]}
    assert listed[auditor.id]["is_locked"] is True and listed[auditor.id]["two_factor"] is False
    response = admin.post(f"/api/v1/users/{auditor.id}/unlock")
    assert response.status_code == 200 and response.json["is_locked"] is False
    refused = admin.post(f"/api/v1/users/{auditor.id}/unlock")
    assert refused.status_code == 409 and "not locked" in refused.json["error"]["message"]


# -- two-factor sign-in: enrolment --


def test_enrolment_shows_a_qr_code_and_the_key_then_confirms_with_a_code(client, world, frozen):
    user = world.user("agency_lead")
    login(client, user)
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    html = _text(page)
    assert 'src="data:image/svg+xml' in html  # drawn here, inline: nothing from the network
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert secret == db.session.get(User, user.id).totp_secret
    # bad input: empty, wrong; nothing is turned on
    empty = client.post("/account/two-factor", data={"code": ""})
    assert empty.status_code == 400 and "Enter the 6-digit code from your authenticator app" in _text(empty)
    wrong = client.post("/account/two-factor", data={"code": "000000" if _code(secret, NOW) != "000000" else "111111"})
    assert wrong.status_code == 400 and "The code is not right" in _text(wrong)
    assert not db.session.get(User, user.id).has_two_factor
    done = client.post("/account/two-factor", data={"code": _code(secret, NOW)})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", _text(done))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert db.session.get(User, user.id).has_two_factor
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept
    # the account page says it is on, with the codes left
    assert "Two-factor sign-in is on" in _text(client.get("/account"))
    assert "You have 10 unused recovery codes" in _text(client.get("/account"))


def test_drift_of_one_step_either_way_is_tolerated_and_no_more(world, frozen):
    user = world.user("auditor")
    with system_actor("test:setup"):
        security.start_enrolment(user)
    secret = user.totp_secret
    assert not security.verify_totp(user, _code(secret, NOW, steps=-2))
    assert not security.verify_totp(user, _code(secret, NOW, steps=2))
    assert security.verify_totp(user, _code(secret, NOW, steps=-1))
    assert security.verify_totp(user, _code(secret, NOW))
    assert security.verify_totp(user, _code(secret, NOW, steps=1))


def test_a_code_is_never_accepted_twice(world, frozen):
    user = world.user("auditor")
    with system_actor("test:setup"):
        security.start_enrolment(user)
    code = _code(user.totp_secret, NOW)
    assert security.verify_totp(user, code)
    assert not security.verify_totp(user, code)  # replayed in the same time-step
    assert not security.verify_totp(user, _code(user.totp_secret, NOW, steps=-1))  # an older step after a newer one
    clock.set_clock(NOW + timedelta(seconds=30))
    assert security.verify_totp(user, _code(user.totp_secret, NOW, steps=1))


# -- two-factor sign-in: signing in --


def test_sign_in_asks_for_a_code_after_the_password(client, world, frozen):
    user = world.user("auditor")
    _enrol(user)
    first = _sign_in(client, user.email)
    assert first.status_code == 302 and first.location == "/login/two-factor"
    assert client.get("/account").status_code == 302  # not signed in yet
    empty = client.post("/login/two-factor", data={"code": ""})
    assert empty.status_code == 400 and "Enter the code from your authenticator app" in _text(empty)
    # the code used at enrolment is not accepted again (replay), nor a wrong one
    replay = client.post("/login/two-factor", data={"code": _code(user.totp_secret, NOW)})
    assert replay.status_code == 400 and "The code is not right" in _text(replay)
    clock.set_clock(NOW + timedelta(seconds=30))
    done = client.post("/login/two-factor", data={"code": _code(user.totp_secret, NOW, steps=1)})
    assert done.status_code == 302 and done.location == "/"
    assert client.get("/account").status_code == 200


def test_a_recovery_code_works_once_and_says_how_many_remain(client, world, frozen):
    user = world.user("auditor")
    codes = _enrol(user)
    _sign_in(client, user.email)
    done = client.post("/login/two-factor", data={"code": codes[0].upper()})
    assert done.status_code == 302
    assert "You used a recovery code. You have 9 left." in _text(client.get("/"))
    client.post("/logout")
    _sign_in(client, user.email)
    again = client.post("/login/two-factor", data={"code": codes[0]})
    assert again.status_code == 400 and "The code is not right" in _text(again)
    assert security.recovery_codes_left(db.session.get(User, user.id)) == 9


def test_wrong_codes_count_towards_the_lockout(client, world, frozen):
    user = world.user("auditor")
    _enrol(user)
    _sign_in(client, user.email, "wrong-password-here")  # one wrong password
    _sign_in(client, user.email)
    for _ in range(3):
        assert "The code is not right" in _text(client.post("/login/two-factor", data={"code": "nope-nope"}))
    locked = client.post("/login/two-factor", data={"code": "nope-nope"})
    assert locked.status_code == 400 and LOCKED in _text(locked)
    assert security.is_locked(user.email)
    # the pending sign-in is gone: back to the password page
    assert client.get("/login/two-factor").status_code == 302


def test_the_second_step_expires(client, world, frozen):
    user = world.user("auditor")
    _enrol(user)
    _sign_in(client, user.email)
    clock.set_clock(NOW + timedelta(seconds=security.PENDING_SIGN_IN_SECONDS + 1))
    response = client.post("/login/two-factor", data={"code": _code(user.totp_secret, clock.now())})
    assert response.status_code == 302 and response.location == "/login"


def test_turning_it_off_needs_the_password_or_a_code(client, world, frozen):
    user = world.user("auditor")
    _enrol(user)
    login(client, user)
    empty = client.post("/account/two-factor/turn-off", data={"answer": ""})
    assert empty.status_code == 400 and "Enter your password or a code" in _text(empty)
    wrong = client.post("/account/two-factor/turn-off", data={"answer": "not-my-password-at-all"})
    assert wrong.status_code == 400 and "That is not your password" in _text(wrong)
    assert db.session.get(User, user.id).has_two_factor
    done = client.post("/account/two-factor/turn-off", data={"answer": PASSWORD})
    assert done.status_code == 302
    user = db.session.get(User, user.id)
    assert not user.has_two_factor and user.totp_secret is None
    assert db.session.scalar(sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id)) == 0


def test_new_recovery_codes_replace_the_old(client, world, frozen):
    user = world.user("auditor")
    old = _enrol(user)
    login(client, user)
    clock.set_clock(NOW + timedelta(seconds=30))
    response = client.post("/account/two-factor/recovery-codes", data={"answer": _code(user.totp_secret, NOW, steps=1)})
    assert response.status_code == 200
    new = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", _text(response))
    assert len(new) == 10
    user = db.session.get(User, user.id)
    assert not security.use_recovery_code(user, old[0])
    assert security.use_recovery_code(user, new[0])


# -- required for admins and QA members --


def _require(world, on: bool = True) -> None:
    with system_actor("test:setup"):
        db.session.get(Partnership, world.partnership.id).require_two_factor = on
        db.session.commit()


def test_the_setting_is_on_the_settings_page_and_the_api(client, world, api):
    login(client, world.user("admin"))
    form = _text(client.get("/admin/settings"))
    assert "Require two-factor sign-in for administrators and QA members" in form
    data = {
        "qa_group_name": "QA group",
        "require_two_factor": "y",
        "action_remind_days_before": "7",
        "action_overdue_every_days": "7",
    }
    assert client.post("/admin/settings", data=data).status_code == 302
    assert db.session.get(Partnership, world.partnership.id).require_two_factor is True
    admin = api(world.user("admin"))
    assert admin.get("/api/v1/partnership/settings").json["require_two_factor"] is True
    bad = admin.patch("/api/v1/partnership/settings", json={"require_two_factor": "yes", "qa_group_name": ""})
    assert bad.status_code == 400 and {"require_two_factor", "qa_group_name"} <= set(bad.json["error"]["fields"])
    assert db.session.get(Partnership, world.partnership.id).qa_group_name == "QA group"
    off = admin.patch("/api/v1/partnership/settings", json={"require_two_factor": False})
    assert off.status_code == 200 and off.json["require_two_factor"] is False
    assert off.json["qa_group_name"] == "QA group"
    assert api(world.user("qa_member")).get("/api/v1/partnership/settings").status_code == 403


def test_a_qa_member_is_sent_to_enrol_and_can_do_nothing_else(client, world, frozen):
    _require(world)
    user = world.user("qa_member")
    assert _sign_in(client, user.email).status_code == 302
    for url in ("/", "/account", "/admin/agencies"):
        response = client.get(url)
        assert response.status_code == 302 and response.location == "/account/two-factor", url
    page = _text(client.get("/account/two-factor"))
    assert "requires two-factor sign-in for your role" in page
    secret = db.session.get(User, user.id).totp_secret
    assert client.post("/account/two-factor", data={"code": _code(secret, NOW)}).status_code == 200
    assert client.get("/").status_code == 200
    # turning it off is refused while required
    refused = client.post("/account/two-factor/turn-off", data={"answer": PASSWORD})
    assert refused.status_code == 303
    assert db.session.get(User, user.id).has_two_factor


def test_people_in_other_roles_and_api_tokens_are_not_affected(client, world, api):
    _require(world)
    assert _sign_in(client, "auditor@north.example.org").status_code == 302
    assert client.get("/").status_code == 200
    assert api(world.user("qa_member")).get("/api/v1/me").status_code == 200


# -- sessions --


def _browser(app, email: str, agent: str):
    browser = app.test_client()
    browser.post("/login", data={"email": email, "password": PASSWORD}, headers={"User-Agent": agent})
    return browser


def test_sessions_are_listed_and_one_ended_stops_working(app, world):
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
    safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1"
    one = _browser(app, "auditor@north.example.org", firefox)
    two = _browser(app, "auditor@north.example.org", safari)
    page = _text(one.get("/account"))
    assert "Firefox on Windows" in page and "Safari on iPhone" in page and "This session" in page
    rows = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == world.user("auditor").id)).all()
    other = next(row for row in rows if row.browser == "Safari on iPhone")
    assert one.post(f"/account/sessions/{other.id}/end").status_code == 302
    refused = two.get("/account")
    assert refused.status_code == 302 and refused.location.startswith("/login")
    assert one.get("/account").status_code == 200
    # ending it again: it is gone
    assert one.post(f"/account/sessions/{other.id}/end").status_code == 404


def test_end_all_other_sessions(app, world):
    browsers = [_browser(app, "auditor@north.example.org", f"Chrome/1{n} Linux") for n in range(3)]
    assert browsers[0].post("/account/sessions/end-others").status_code == 302
    assert browsers[0].get("/account").status_code == 200
    assert all(b.get("/account").status_code == 302 for b in browsers[1:])


def test_someone_else_s_session_is_not_found(app, world):
    mine = _browser(app, "auditor@north.example.org", "Firefox/1")
    theirs = _browser(app, "lead@north.example.org", "Firefox/2")
    lead_session = db.session.scalar(
        sa.select(UserSession.id).where(UserSession.user_id == world.user("agency_lead").id)
    )
    assert mine.post(f"/account/sessions/{lead_session}/end").status_code == 404
    assert theirs.get("/account").status_code == 200


def test_sign_out_ends_only_this_session(app, world):
    one = _browser(app, "auditor@north.example.org", "Firefox/1")
    two = _browser(app, "auditor@north.example.org", "Firefox/2")
    assert one.post("/logout").status_code == 302
    assert one.get("/account").status_code == 302
    assert two.get("/account").status_code == 200


def test_password_change_and_deactivation_end_every_session(app, world):
    one = _browser(app, "auditor@north.example.org", "Firefox/1")
    with system_actor("test:setup"):
        user = db.session.get(User, world.user("auditor").id)
        user.end_sessions()
        db.session.commit()
    assert one.get("/account").status_code == 302
    assert security.live_sessions(db.session.get(User, world.user("auditor").id)) == []


def test_last_active_is_written_at_most_once_a_minute(app, world, frozen):
    one = _browser(app, "auditor@north.example.org", "Firefox/1")
    row_id = db.session.scalar(sa.select(UserSession.id).where(UserSession.user_id == world.user("auditor").id))
    clock.set_clock(NOW + timedelta(seconds=30))
    one.get("/account")
    assert db.session.get(UserSession, row_id).last_active_at == NOW
    clock.set_clock(NOW + timedelta(seconds=61))
    one.get("/account")
    db.session.expire_all()
    assert db.session.get(UserSession, row_id).last_active_at == NOW + timedelta(seconds=61)


def test_an_idle_session_stops_working(app, world, frozen):
    one = _browser(app, "auditor@north.example.org", "Firefox/1")
    clock.set_clock(NOW + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=1))
    assert one.get("/account").status_code == 302


def test_the_api_lists_and_ends_the_token_user_s_sessions(app, world, api):
    browser = _browser(app, "auditor@north.example.org", "Firefox/133.0 Windows")
    auditor = api(world.user("auditor"))
    listed = auditor.get("/api/v1/account/sessions").json
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert item["browser"] == "Firefox on Windows" and set(item) >= {"id", "started_at", "last_active_at"}
    assert api(world.user("agency_lead")).delete(f"/api/v1/account/sessions/{item['id']}").status_code == 404
    assert auditor.delete(f"/api/v1/account/sessions/{item['id']}").status_code == 204
    assert browser.get("/account").status_code == 302
    assert auditor.get("/api/v1/account/sessions").json["total"] == 0


def test_a_cookie_without_a_session_record_is_refused(client, world):
    """A cookie from before sessions were recorded, or one made by hand, signs no one in."""
    with client.session_transaction() as session:
        session["_user_id"] = world.user("admin").get_id()
        session["_fresh"] = True
    assert client.get("/account").status_code == 302


def test_describe_browser():
    assert security.describe_browser(None) == "Unknown browser"
    agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0"
    assert security.describe_browser(agent) == "Edge on macOS"


# -- an admin turns off two-factor sign-in for someone who lost their phone --


def test_an_admin_turns_off_two_factor_for_someone_who_lost_their_phone(app, world, api, frozen):
    user = world.user("auditor")
    _enrol(user)
    browser = app.test_client()
    login(browser, user)
    admin = login(app.test_client(), world.user("admin"))
    assert "Turn off two-factor sign-in" in _text(admin.get(f"/admin/users/{user.id}"))
    assert admin.post(f"/admin/users/{user.id}/two-factor/reset").status_code == 302
    user = db.session.get(User, user.id)
    assert not user.has_two_factor and user.totp_secret is None
    assert db.session.scalar(sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id)) == 0
    assert browser.get("/account").status_code == 302  # signed out everywhere
    again = admin.post(f"/admin/users/{user.id}/two-factor/reset")
    assert again.status_code == 303
    refused = api(world.user("admin")).post(f"/api/v1/users/{user.id}/two-factor/reset")
    assert refused.status_code == 409
    _enrol(user)
    assert api(world.user("other_admin")).post(f"/api/v1/users/{user.id}/two-factor/reset").status_code == 404
    assert api(world.user("scrutineer")).post(f"/api/v1/users/{user.id}/two-factor/reset").status_code == 403
    done = api(world.user("admin")).post(f"/api/v1/users/{user.id}/two-factor/reset")
    assert done.status_code == 200 and done.json["two_factor"] is False


def test_last_signed_in_waits_for_the_second_factor(client, world, frozen):
    user = world.user("auditor")
    _enrol(user)
    _sign_in(client, user.email)
    assert db.session.get(User, user.id).last_login_at is None
    clock.set_clock(NOW + timedelta(seconds=30))
    client.post("/login/two-factor", data={"code": _code(user.totp_secret, NOW, steps=1)})
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at == NOW + timedelta(seconds=30)
