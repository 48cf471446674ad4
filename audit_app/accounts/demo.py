"""The demo partnerships, agencies and people loaded by `make run` (`flask demo load`).

Fictional places, agencies and people; the passwords are printed and in README.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..core.demo import Demo, register_demo_step
from ..core.roles import Role
from ..extensions import db
from . import services
from .models import Agency, Partnership, Sector, User

DEMO_PASSWORD = "demo-password-2026"
PARTNERSHIP = "Northbridge Safeguarding Children Partnership"
SECOND_PARTNERSHIP = "Eastvale Safeguarding Children Partnership"

#: (agency name, sector key)
AGENCIES = [
    ("Northbridge and Eastvale Police (North BCU)", "police"),
    ("Northbridge Council Children's Social Care", "social_care"),
    ("Northbridge University Hospitals NHS Trust", "health"),
    ("Riverside Community Health NHS Trust", "health"),
    ("North Central Mental Health NHS Foundation Trust", "health"),
    ("Northbridge and Eastvale Integrated Care Board", "health"),
    ("St Anne's Church of England Primary School", "education"),
    ("Northbridge Academy", "education"),
    ("Little Oaks Children's Centre", "early_years"),
    ("Probation Service, Northbridge Delivery Unit", "justice"),
    ("Northbridge Youth Justice Service", "justice"),
    ("Safe Haven Domestic Abuse Service", "voluntary"),
    ("Northbridge Homes", "other"),
]

#: (email, name, role, agency name or None)
USERS = [
    ("admin@northbridge.example.org", "Amira Patel", Role.ADMIN, None),
    ("qa@northbridge.example.org", "Quentin Adeyemi", Role.QA_MEMBER, None),
    ("lead.police@northbridge.example.org", "Laura Brennan", Role.AGENCY_LEAD, AGENCIES[0][0]),
    ("auditor.health@northbridge.example.org", "Ade Okafor", Role.AUDITOR, AGENCIES[2][0]),
    ("auditor.police@northbridge.example.org", "Tom Walsh", Role.AUDITOR, AGENCIES[0][0]),
    ("scrutineer@northbridge.example.org", "Sarah Chen", Role.SCRUTINEER, None),
]


def _demo_users() -> dict[str, User]:
    by_email = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_([u[0] for u in USERS])))}
    return {"admin": by_email[USERS[0][0]], "qa": by_email[USERS[1][0]], "lead": by_email[USERS[2][0]]}


def _load(demo: Demo) -> None:
    """The demo partnerships, their agencies and people, once."""
    demo.notes.append(f"Demo users (password for all: {DEMO_PASSWORD}):")
    demo.notes.extend(f"  {email:42} {role.value:12} {agency or ''}" for email, _name, role, agency in USERS)
    existing = db.session.scalar(sa.select(Partnership.id).where(Partnership.name == PARTNERSHIP))
    if existing is not None:
        demo.partnership_id, demo.users = existing, _demo_users()
        return
    north = services.create_partnership(PARTNERSHIP, qa_group_name="Learning from Practice Group")
    north.retention_months = 72  # case records of a reported case audit go six years after it was reported
    east = services.create_partnership(SECOND_PARTNERSHIP, qa_group_name="Quality Assurance and Performance Subgroup")
    agency_ids: dict[str, int] = {}
    for name, sector_key in AGENCIES:
        sector = db.session.scalar(sa.select(Sector).where(Sector.partnership_id == north.id, Sector.key == sector_key))
        agency_ids[name] = services.create_agency(north.id, name, sector).agency_id
    # The police BCU and the ICB serve both partnerships.
    for name in (AGENCIES[0][0], AGENCIES[5][0]):
        sector_key = dict(AGENCIES)[name]
        sector = db.session.scalar(sa.select(Sector).where(Sector.partnership_id == east.id, Sector.key == sector_key))
        agency = db.session.get(Agency, agency_ids[name])
        services.link_agency(east.id, agency, sector)
    for email, name, role, agency_name in USERS:
        services.create_user(
            north.id,
            email=email,
            name=name,
            role=role,
            agency_id=agency_ids[agency_name] if agency_name else None,
            password=DEMO_PASSWORD,
        )
    # The demo admin also runs the neighbouring partnership, to show switching.
    services.create_user(east.id, email=USERS[0][0], name=USERS[0][1], role=Role.ADMIN)
    demo.created = True
    demo.partnership_id, demo.users = north.id, _demo_users()


register_demo_step(10, _load)
