"""The roles a person can hold in a partnership (memberships in ``accounts`` store them).

In core because every domain's permission rules and the request's principal speak of them.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    QA_MEMBER = "qa_member"
    AGENCY_LEAD = "agency_lead"
    AUDITOR = "auditor"
    SCRUTINEER = "scrutineer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def needs_agency(self) -> bool:
        return self in (Role.AGENCY_LEAD, Role.AUDITOR)


ROLE_LABELS = {
    Role.ADMIN: "Partnership admin (business unit)",
    Role.QA_MEMBER: "QA / learning from practice group member",
    Role.AGENCY_LEAD: "Agency lead",
    Role.AUDITOR: "Agency auditor",
    Role.SCRUTINEER: "Independent scrutineer",
}
