"""Request and response models of the API (pydantic; they also make the OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, StringConstraints

from ..accounts.models import Role
from ..core.inputs import Id

Name200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name120 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SectorOut(BaseModel):
    id: int
    key: str
    name: str


class SectorIn(Strict):
    name: Name120
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")] | None = Field(
        default=None, description="Stable key used by questionnaires; made from the name if omitted"
    )


class SectorPatch(Strict):
    name: Name120


class AgencyOut(BaseModel):
    id: int
    name: str
    sector: SectorOut
    is_active: bool
    previous_names: list[str]
    short_code: str | None = Field(description="The partnership's short code for the agency (capitals), or null")
    reference_number: str | None = Field(
        description="The setting's official reference number in this partnership (a URN, an Ofsted number), or null"
    )
    contact_email: str = Field(description="The setting's contact email in this partnership, or empty")


SHORT_CODE_DOC = (
    "The partnership's own short code (up to 20 characters; stored in capitals, unique in the partnership "
    "ignoring case); cohort files may name the agency by it. Empty: none"
)


REFERENCE_DOC = (
    "An official reference number (a school's URN, an Ofsted number: up to 40 letters, digits, / and -; stored in "
    "capitals without spaces, unique in the partnership); the settings CSV import matches on it. Empty: none"
)


class AgencyIn(Strict):
    name: Name200
    sector_id: Id
    short_code: Annotated[str, StringConstraints(max_length=20)] = Field(default="", description=SHORT_CODE_DOC)
    reference_number: Annotated[str, StringConstraints(max_length=40)] = Field(default="", description=REFERENCE_DOC)
    contact_email: Annotated[str, StringConstraints(max_length=320)] = Field(
        default="", description="The setting's contact email. Empty: none"
    )


class AgencyPatch(Strict):
    name: Name200 | None = None
    sector_id: Id | None = None
    short_code: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        default=None, description=SHORT_CODE_DOC + "; omitted: unchanged"
    )
    reference_number: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description=REFERENCE_DOC + "; omitted: unchanged"
    )
    contact_email: Annotated[str, StringConstraints(max_length=320)] | None = Field(
        default=None, description="The setting's contact email (empty: none); omitted: unchanged"
    )
    is_active: StrictBool | None = None


class MembershipOut(BaseModel):
    id: int
    role: Role
    agency_id: int | None
    agency_name: str | None


class InvitationOut(BaseModel):
    sent: bool = Field(description="False when the email could not be sent or email is not configured")
    link: str | None = Field(default=None, description="The set-password link, given only when it was not emailed")


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    is_active: bool
    has_password: bool
    two_factor: bool = Field(description="Signs in with a second factor (an authenticator app)")
    is_locked: bool = Field(description="Sign-in is locked after too many failed attempts; an admin unlocks it")
    roles: list[MembershipOut]
    invitation: InvitationOut | None = Field(
        default=None, description="Only on creation of a new account without a password"
    )


class UserIn(Strict):
    email: Annotated[EmailStr, StringConstraints(max_length=320)]
    name: Name200
    role: Role
    agency_id: Id | None = None
    password: Annotated[str, StringConstraints(min_length=12, max_length=256)] | None = Field(
        default=None, description="Omit to create the account without a password (an invitation to set one is emailed)"
    )


class UserPatch(Strict):
    email: Annotated[EmailStr, StringConstraints(max_length=320)] | None = None
    name: Name200 | None = None
    is_active: StrictBool | None = None


class MembershipIn(Strict):
    role: Role
    agency_id: Id | None = None


class MeOut(BaseModel):
    id: int
    email: str
    name: str
    partnership_id: int
    partnership_name: str
    roles: list[MembershipOut]
    token_expires_at: datetime | None = None


class FileOut(BaseModel):
    """A kept file (evidence of impact, a criterion's file): what it is, and where to download it."""

    id: int
    filename: str = Field(description="The name it was uploaded with")
    content_type: str = Field(description="Found from the content")
    size_bytes: int
    sha256: str = Field(description="Hex SHA-256 of the content: check a download against it")
    url: str = Field(description="Where to download it (as an attachment)")
