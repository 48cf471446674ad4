"""The account security journey in a browser, with axe on every page: lockout and an admin's unlock; an admin
requires two-factor sign-in; a QA member is sent to enrol, scans (the test reads the key shown as text), keeps the
recovery codes, signs in with a code and then with a recovery code; a session is ended from the account page.

People of their own are made for the journey, so the demo's shared people (whose sessions other browser tests
reuse) are untouched; the partnership's requirement is turned off again at the end whatever happens.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from audit_app.accounts import services
from audit_app.accounts.models import Partnership, Role
from audit_app.accounts.permissions import agency_links_query
from audit_app.core.audit import system_actor
from audit_app.extensions import db

from .conftest import ADMIN_EMAIL, sign_out

pytestmark = pytest.mark.e2e

NORTHBRIDGE = "Northbridge Safeguarding Children Partnership"
PASSWORD = "an e2e password long enough"


def _make_user(app: Flask, role: Role, name: str) -> str:
    email = f"{role.value.replace('_', '.')}.{uuid.uuid4().hex[:6]}@northbridge.example.org"
    with app.app_context(), system_actor("test:e2e"):
        partnership = db.session.scalar(sa.select(Partnership).where(Partnership.name == NORTHBRIDGE))
        agency_id = None
        if role.needs_agency:
            agency_id = db.session.scalars(agency_links_query(partnership.id, active_only=True)).first().agency_id
        services.create_user(partnership.id, email=email, name=name, role=role, agency_id=agency_id, password=PASSWORD)
        db.session.commit()
        db.session.remove()
    return email


def _requirement_off(app: Flask) -> None:
    with app.app_context(), system_actor("test:e2e"):
        partnership = db.session.scalar(sa.select(Partnership).where(Partnership.name == NORTHBRIDGE))
        partnership.require_two_factor = False
        db.session.commit()
        db.session.remove()


@pytest.fixture()
def requirement_off_afterwards(e2e_app: Flask) -> Iterator[None]:
    yield
    _requirement_off(e2e_app)


def _fill_sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def _current_code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def test_lockout_unlock_required_two_factor_recovery_codes_and_sessions(
    page: Page, signed_in, check_a11y, other_browser, e2e_app: Flask, requirement_off_afterwards
) -> None:
    auditor_email = _make_user(e2e_app, Role.AUDITOR, "Lockout Tester")
    qa_email = _make_user(e2e_app, Role.QA_MEMBER, "Twofactor Tester")

    # -- 1. five wrong passwords lock the account; the message says what to do --
    auditor = other_browser()
    for _ in range(5):
        _fill_sign_in(auditor, auditor_email, "not the right password")
    summary = auditor.locator(".govuk-error-summary")
    expect(summary).to_contain_text("This account is locked because of too many failed sign-ins")
    expect(summary).to_contain_text("Ask an administrator of your partnership to unlock it")
    check_a11y("sign-in locked", on=auditor)
    _fill_sign_in(auditor, auditor_email, PASSWORD)
    expect(summary).to_contain_text("This account is locked")

    # -- the admin unlocks it from the user's page --
    signed_in(ADMIN_EMAIL)
    page.goto("/admin/users?per_page=200")
    row = page.get_by_role("row", name=re.compile("Lockout Tester"))
    expect(row).to_contain_text("Locked")
    check_a11y("users with a locked account")
    row.get_by_role("link", name="Lockout Tester").click()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Locked after too many failed sign-ins")
    check_a11y("locked user")
    page.get_by_role("button", name="Unlock account").click()
    expect(page.get_by_text("Account unlocked: Lockout Tester can sign in again")).to_be_visible()
    _fill_sign_in(auditor, auditor_email, PASSWORD)
    expect(auditor.get_by_role("button", name="Sign out")).to_be_visible()

    # -- 2. the admin requires two-factor sign-in for admins and QA members --
    page.goto("/admin/settings")
    page.get_by_label("Require two-factor sign-in for administrators and QA members").check()
    check_a11y("settings with two-factor")
    page.get_by_role("button", name="Save settings").click()
    # the admin is an administrator too: their next page is setting it up
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")

    # -- 3. the QA member signs in and is sent to enrol; nothing else opens --
    qa = other_browser()
    _fill_sign_in(qa, qa_email, PASSWORD)
    expect(qa.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
    qa.goto("/rounds")
    expect(qa.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
    expect(qa.get_by_text("requires two-factor sign-in for your role")).to_be_visible()
    expect(qa.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    check_a11y("two-factor setup", on=qa)
    # a wrong code first: the error summary names the field
    qa.get_by_label("Code from your app").fill("12345x")
    qa.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(qa.locator(".govuk-error-summary")).to_contain_text("The code is not right")
    check_a11y("two-factor setup with an error", on=qa)
    secret = qa.locator("#totp-secret").inner_text().replace(" ", "")
    qa.get_by_label("Code from your app").fill(_current_code(secret))
    qa.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(qa.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = [c.strip() for c in qa.locator("#recovery-codes code").all_inner_texts()]
    assert len(codes) == 10
    check_a11y("recovery codes", on=qa)
    qa.get_by_role("button", name="I have kept my recovery codes").click()
    expect(qa.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(qa.locator("#two-factor ~ p").first).to_contain_text("You have 10 unused recovery codes")
    sign_out(qa)

    # -- 4. sign in with a code (the next time-step's: the one used to enrol is never accepted again) --
    _fill_sign_in(qa, qa_email, PASSWORD)
    expect(qa.get_by_role("heading", level=1)).to_have_text("Enter your code")
    check_a11y("enter your code", on=qa)
    qa.get_by_label("Code", exact=True).fill(_current_code(secret, steps_ahead=1))
    qa.get_by_role("button", name="Continue").click()
    expect(qa.get_by_role("button", name="Sign out")).to_be_visible()
    sign_out(qa)

    # -- 5. and with a recovery code, which then stops working --
    _fill_sign_in(qa, qa_email, PASSWORD)
    qa.get_by_label("Code", exact=True).fill(codes[0])
    qa.get_by_role("button", name="Continue").click()
    expect(qa.get_by_text("You used a recovery code. You have 9 left.")).to_be_visible()

    # -- 6. a second browser signs in; the first ends it from the account page --
    second = other_browser()
    _fill_sign_in(second, qa_email, PASSWORD)
    second.get_by_label("Code", exact=True).fill(codes[1])
    second.get_by_role("button", name="Continue").click()
    expect(second.get_by_role("button", name="Sign out")).to_be_visible()
    qa.goto("/account")
    sessions = qa.locator("#session-list tbody tr")
    expect(sessions).to_have_count(2)
    expect(qa.locator("#session-list")).to_contain_text("This session")
    check_a11y("account with sessions", on=qa)
    qa.get_by_role("button", name=re.compile(r"^End session")).click()
    expect(qa.get_by_text("Session ended")).to_be_visible()
    expect(sessions).to_have_count(1)
    second.goto("/account")
    expect(second).to_have_url(re.compile(r"/login"))
    # turning two-factor sign-in off is not offered while it is required
    expect(qa.get_by_role("button", name="Turn off two-factor sign-in")).to_have_count(0)
    # a used recovery code is refused
    sign_out(qa)
    _fill_sign_in(qa, qa_email, PASSWORD)
    qa.get_by_label("Code", exact=True).fill(codes[0])
    qa.get_by_role("button", name="Continue").click()
    expect(qa.locator(".govuk-error-summary")).to_contain_text("The code is not right")
    check_a11y("enter your code with an error", on=qa)

    # -- 7. new recovery codes, then (once no longer required) turning two-factor sign-in off --
    qa.get_by_label("Code", exact=True).fill(codes[2])
    qa.get_by_role("button", name="Continue").click()
    expect(qa.get_by_role("button", name="Sign out")).to_be_visible()
    qa.goto("/account/two-factor/recovery-codes")
    expect(qa.get_by_role("heading", level=1)).to_have_text("Make new recovery codes")
    check_a11y("make new recovery codes", on=qa)
    qa.get_by_role("textbox").fill("not my password")
    qa.get_by_role("button", name="Make new recovery codes").click()
    expect(qa.locator(".govuk-error-summary")).to_be_visible()
    check_a11y("make new recovery codes with an error", on=qa)
    qa.get_by_role("textbox").fill(PASSWORD)
    qa.get_by_role("button", name="Make new recovery codes").click()
    expect(qa.locator("#recovery-codes code")).to_have_count(10)
    _requirement_off(e2e_app)
    qa.goto("/account/two-factor/turn-off")
    expect(qa.get_by_role("heading", level=1)).to_have_text("Turn off two-factor sign-in")
    check_a11y("turn off two-factor sign-in", on=qa)
    qa.get_by_role("textbox").fill(PASSWORD)
    qa.get_by_role("button", name="Turn off two-factor sign-in").click()
    expect(qa.get_by_text("Two-factor sign-in is off. Your other sessions have been signed out.")).to_be_visible()
