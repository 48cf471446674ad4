"""The demo partnership loaded by `make run` (`flask demo load`).

Fictional places, agencies and people; the passwords are printed and in README.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..accounts import services
from ..accounts.models import Agency, Partnership, Role, Sector, User
from ..case_audits.demo import load_case_audits
from ..extensions import db

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


def load_library(partnership_id: int) -> int:
    """Import and publish every shipped questionnaire the partnership lacks; how many were added."""
    from ..questionnaires import services as questionnaire_services
    from ..questionnaires.models import Questionnaire

    have = set(db.session.scalars(sa.select(Questionnaire.key).where(Questionnaire.partnership_id == partnership_id)))
    added = 0
    for item in questionnaire_services.library():
        if item["key"] not in have:
            questionnaire_services.import_questionnaire(partnership_id, item["data"], publish=True)
            added += 1
    return added


def _demo_users() -> dict[str, User]:
    by_email = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_([u[0] for u in USERS])))}
    return {"admin": by_email[USERS[0][0]], "qa": by_email[USERS[1][0]], "lead": by_email[USERS[2][0]]}


def load_demo() -> tuple[bool, int]:
    """Create the demo partnerships once and top up the library.

    Returns whether the partnerships were created and how many library
    questionnaires were added.
    """
    existing = db.session.scalar(sa.select(Partnership.id).where(Partnership.name == PARTNERSHIP))
    if existing is not None:
        added = load_library(existing)
        load_case_audits(existing, _demo_users())
        return False, added
    north = services.create_partnership(PARTNERSHIP, qa_group_name="Learning from Practice Group")
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
    added = load_library(north.id)
    load_case_audits(north.id, _demo_users())
    return True, added
