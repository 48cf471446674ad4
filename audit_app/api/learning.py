"""API: learning points of a review, the review's recommendations, and the partnership's list of learning themes.

The same records and rules as the pages (questionnaires.learning_themes, reviews.learning). A review's
recommendations are created with POST /recommendations, source ``review`` and its ``review_id``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import jsonify
from pydantic import BaseModel, Field, StrictBool, StrictInt

from ..accounts.models import Role
from ..actions.models import ActionStatus, Rag, Recommendation, SourceKind
from ..actions.permissions import recommendations_query
from ..core.access_log import AccessKind, record_access
from ..core.inputs import Id
from ..extensions import db
from ..questionnaires import learning_themes as themes_service
from ..questionnaires.learning_themes import Direction
from ..questionnaires.models import LearningTheme
from ..reviews import learning
from ..reviews.models import LearningPoint
from ..reviews.permissions import (
    can_manage_learning_themes,
    can_manage_reviews,
    can_view_learning_themes,
    get_learning_point_or_404,
    get_learning_theme_or_404,
    get_review_or_404,
    learning_points_query,
)
from .helpers import page_of, parse_body, principal, require
from .schemas import Strict
from .spec import ANY_ROLE, PageQuery, api_route

TAG = "reviews"
MANAGERS = (Role.ADMIN, Role.QA_MEMBER)
REVIEW_READERS = ANY_ROLE
REVIEW_NOTE = "agency leads and auditors reach published reviews only; an unpublished one is 404"


# -- learning themes --


class ThemeStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return {"active": "In use", "retired": "Retired"}[self.value]


class ThemeIn(Strict):
    name: str = Field(default="", description="Unique in the partnership, whatever the capitals; 120 characters")
    description: str = Field(default="", description="What it covers (optional)")


class ThemePatch(Strict):
    """Fields left out keep their values."""

    name: str | None = Field(default=None, description="Renaming renames the recommendation tags that hold it")
    description: str | None = None
    retired: StrictBool | None = Field(default=None, description="true: no longer offered; false: offered again")
    move: Direction | None = Field(default=None, description="up or down: swap with its neighbour in the list")


class ThemeOut(BaseModel):
    id: int
    name: str
    description: str
    position: int = Field(description="Its place in the partnership's list (active themes first)")
    retired: bool
    status: ThemeStatus = Field(description="active: offered for new tags; retired: kept on past tags only")
    status_label: str


def _theme(theme: LearningTheme, place: int) -> dict[str, Any]:
    return ThemeOut(
        id=theme.id,
        name=theme.name,
        description=theme.description,
        position=place,
        retired=theme.is_retired,
        status=ThemeStatus.RETIRED if theme.is_retired else ThemeStatus.ACTIVE,
        status_label=(ThemeStatus.RETIRED if theme.is_retired else ThemeStatus.ACTIVE).label,
    ).model_dump(mode="json")


def _theme_out(theme: LearningTheme) -> dict[str, Any]:
    ordered = themes_service.themes_of(theme.partnership_id)
    return _theme(theme, ordered.index(theme) + 1)


@api_route(
    "/learning-themes",
    "GET",
    summary="List your partnership's learning themes: active ones in order, then retired ones",
    tag=TAG,
    response_model=ThemeOut,
    many=True,
    roles=ANY_ROLE,
)
def learning_themes_list():
    p = principal()
    require(can_view_learning_themes(p))
    places = {t.id: i for i, t in enumerate(themes_service.themes_of(p.partnership_id), start=1)}
    query = (
        sa.select(LearningTheme)
        .where(LearningTheme.partnership_id == p.partnership_id)
        .order_by(LearningTheme.is_retired, LearningTheme.position, LearningTheme.name, LearningTheme.id)
    )
    return page_of(query, lambda t: _theme(t, places.get(t.id, 0)))


@api_route(
    "/learning-themes",
    "POST",
    summary="Add a learning theme at the end of your partnership's list",
    tag=TAG,
    request_model=ThemeIn,
    response_model=ThemeOut,
    status=201,
    roles=MANAGERS,
)
def learning_themes_create():
    p = principal()
    require(can_manage_learning_themes(p))
    body = parse_body(ThemeIn)
    theme = themes_service.add_theme(p.partnership_id, body.name, body.description)
    db.session.commit()
    return jsonify(_theme_out(theme)), 201


@api_route(
    "/learning-themes/<int:learning_theme_id>",
    "PATCH",
    summary="Rename, describe, move, retire or restore a learning theme",
    tag=TAG,
    request_model=ThemePatch,
    response_model=ThemeOut,
    roles=MANAGERS,
)
def learning_themes_update(learning_theme_id: int):
    p = principal()
    require(can_manage_learning_themes(p))
    theme = get_learning_theme_or_404(p, learning_theme_id)
    body = parse_body(ThemePatch)
    if body.name is not None or body.description is not None:
        themes_service.update_theme(
            theme,
            body.name if body.name is not None else theme.name,
            body.description if body.description is not None else theme.description,
        )
    if body.retired is True:
        themes_service.retire_theme(theme)
    elif body.retired is False:
        themes_service.restore_theme(theme)
    if body.move is not None:
        themes_service.move_theme(theme, body.move)
    db.session.commit()
    return jsonify(_theme_out(theme))


@api_route(
    "/learning-themes/<int:learning_theme_id>",
    "DELETE",
    summary="Delete a learning theme never used; 409 once anything was tagged with it (retire it instead)",
    tag=TAG,
    status=204,
    roles=MANAGERS,
)
def learning_themes_delete(learning_theme_id: int):
    p = principal()
    require(can_manage_learning_themes(p))
    themes_service.delete_theme(get_learning_theme_or_404(p, learning_theme_id))
    db.session.commit()
    return "", 204


# -- learning points --


class ThemeRef(BaseModel):
    id: int
    name: str
    retired: bool


class PointIn(Strict):
    text: str = Field(default="", description="The learning point; 4,000 characters")
    theme_ids: list[Id] = Field(default_factory=list, description="Active learning themes of your partnership")


class PointPatch(Strict):
    """Fields left out keep their values."""

    text: str | None = None
    theme_ids: list[Id] | None = Field(default=None, description="A theme already tagged may stay though retired")
    number: StrictInt | None = Field(default=None, description="Move it to this number; the points between shift")


class PointOut(BaseModel):
    id: int
    review_id: int
    review_title: str
    number: int
    text: str
    themes: list[ThemeRef]
    created_at: datetime
    updated_at: datetime


def _point(point: LearningPoint) -> dict[str, Any]:
    return PointOut(
        id=point.id,
        review_id=point.review_id,
        review_title=point.review.title,
        number=point.number,
        text=point.text,
        themes=[ThemeRef(id=t.id, name=t.name, retired=t.is_retired) for t in point.themes],
        created_at=point.created_at,
        updated_at=point.updated_at,
    ).model_dump(mode="json")


@api_route(
    "/reviews/<int:review_id>/learning-points",
    "GET",
    summary="List a review's learning points by number, with their themes",
    tag=TAG,
    response_model=PointOut,
    many=True,
    roles=REVIEW_READERS,
    roles_note=REVIEW_NOTE,
)
def learning_points_list(review_id: int):
    p = principal()
    review = get_review_or_404(p, review_id)
    record_access(AccessKind.REVIEW, review.id)
    query = learning_points_query(p).where(LearningPoint.review_id == review.id).order_by(LearningPoint.number)
    return page_of(query, _point)


@api_route(
    "/reviews/<int:review_id>/learning-points",
    "POST",
    summary="Add a learning point to a review, numbered after its last",
    tag=TAG,
    request_model=PointIn,
    response_model=PointOut,
    status=201,
    roles=MANAGERS,
)
def learning_points_create(review_id: int):
    p = principal()
    require(can_manage_reviews(p))
    review = get_review_or_404(p, review_id)
    body = parse_body(PointIn)
    point = learning.add_point(review, body.text, body.theme_ids)
    db.session.commit()
    return jsonify(_point(point)), 201


@api_route(
    "/learning-points/<int:learning_point_id>",
    "PATCH",
    summary="Change a learning point's text or themes, or move it to another number",
    tag=TAG,
    request_model=PointPatch,
    response_model=PointOut,
    roles=MANAGERS,
)
def learning_points_update(learning_point_id: int):
    p = principal()
    require(can_manage_reviews(p))
    point = get_learning_point_or_404(p, learning_point_id)
    body = parse_body(PointPatch)
    if body.text is not None or body.theme_ids is not None:
        learning.update_point(
            point,
            body.text if body.text is not None else point.text,
            body.theme_ids if body.theme_ids is not None else [t.id for t in point.themes],
        )
    if body.number is not None:
        learning.move_point(point, body.number)
    db.session.commit()
    return jsonify(_point(point))


@api_route(
    "/learning-points/<int:learning_point_id>",
    "DELETE",
    summary="Delete a learning point; those after it move up a number",
    tag=TAG,
    status=204,
    roles=MANAGERS,
)
def learning_points_delete(learning_point_id: int):
    p = principal()
    require(can_manage_reviews(p))
    point = get_learning_point_or_404(p, learning_point_id)
    learning.delete_point(point)
    db.session.commit()
    return "", 204


# -- the review's recommendations --


class ActionRag(BaseModel):
    id: int
    title: str
    rag: Rag
    rag_label: str
    status: ActionStatus
    status_label: str


class ReviewRecommendationOut(BaseModel):
    id: int = Field(description="The recommendation on the action plan (GET /recommendations/{id})")
    number: int
    text: str
    source: SourceKind
    source_label: str
    themes: list[str]
    actions: list[ActionRag]


def _recommendation(rec: Recommendation) -> dict[str, Any]:
    return ReviewRecommendationOut(
        id=rec.id,
        number=rec.number,
        text=rec.text,
        source=rec.source,
        source_label=rec.source_label,
        themes=rec.theme_names,
        actions=[
            ActionRag(
                id=a.id,
                title=a.title,
                rag=a.rag,
                rag_label=a.rag.label,
                status=a.status,
                status_label=a.status.label,
            )
            for a in rec.actions
        ],
    ).model_dump(mode="json")


@api_route(
    "/reviews/<int:review_id>/recommendations",
    "GET",
    summary="List a review's recommendations on the action plan, by number, with their actions' RAG; record one "
    "with POST /recommendations (source review)",
    tag=TAG,
    query_model=PageQuery,
    response_model=ReviewRecommendationOut,
    many=True,
    roles=REVIEW_READERS,
    roles_note=REVIEW_NOTE + "; agency staff see the recommendations addressed to their agency",
)
def review_recommendations_list(review_id: int):
    p = principal()
    review = get_review_or_404(p, review_id)
    record_access(AccessKind.REVIEW, review.id)
    query = (
        recommendations_query(p)
        .where(Recommendation.source == SourceKind.REVIEW, Recommendation.review_id == review.id)
        .order_by(Recommendation.number, Recommendation.id)
    )
    return page_of(query, _recommendation)
