"""API: how often each learning theme appears in each source, per year, and the items behind the counts (the
figures of the page "Learning themes across sources", reporting.theme_views)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field

from ..accounts.models import Role
from ..reporting import theme_aggregation as agg
from ..reporting import theme_views as tv
from . import bp  # noqa: F401
from .helpers import ApiError, principal, query_args, require
from .spec import api_route

TAG = "reviews"
READERS = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER)


class YearsQuery(BaseModel):
    """The years to count (both ends optional: from the first, or to the last, year anything is tagged in)."""

    model_config = ConfigDict(extra="ignore")

    from_year: str | None = Field(default=None, max_length=12, description="First year, such as 2024")
    to_year: str | None = Field(default=None, max_length=12, description="Last year (at most 30 years shown)")


class SourceOut(BaseModel):
    source: agg.ThemeSource
    source_label: str


class CountOut(BaseModel):
    learning_theme_id: int
    learning_theme_name: str
    year: int
    source: agg.ThemeSource
    source_label: str
    count: int = Field(description="Items of the source tagged with the theme in the year (0 where none)")


class ThemeOut(BaseModel):
    learning_theme_id: int
    learning_theme_name: str
    is_retired: bool


class CountsOut(BaseModel):
    years: list[int] = Field(description="Every year counted, in order")
    sources: list[SourceOut]
    learning_themes: list[ThemeOut] = Field(description="The partnership's list, retired themes too, in order")
    counts: list[CountOut] = Field(description="One per theme, year and source")


class ItemOut(BaseModel):
    source: agg.ThemeSource
    source_label: str
    item_id: int = Field(
        description="The id of the learning point, case judgement, return, challenge event or recommendation"
    )
    year: int | None
    label: str
    detail: str = Field(description="The start of the item's text, where it has one")
    link_path: str = Field(description="The item's page in the app")


class ItemsOut(BaseModel):
    learning_theme_id: int
    learning_theme_name: str
    is_retired: bool
    years: list[int]
    items: list[ItemOut]


def _years() -> tuple[int | None, int | None]:
    args: YearsQuery = query_args()
    first, last, errors = tv.parse_years({"from_year": args.from_year or "", "to_year": args.to_year or ""})
    if errors:
        raise ApiError(400, "Some query parameters are not valid", {f"query.{k}": [v] for k, v in errors.items()})
    return first, last


@api_route(
    "/learning-themes/counts",
    "GET",
    summary="How often each learning theme appears in each source (review learning points, case-audit findings "
    "and returns, self-assessment findings, recommendations), per year",
    tag=TAG,
    query_model=YearsQuery,
    response_model=CountsOut,
    roles=READERS,
)
def theme_counts_get():
    p = principal()
    require(tv.can_view_themes_across_sources(p))
    first, last = _years()
    found = tv.across_sources(p.partnership_id, first, last)
    body: dict[str, Any] = CountsOut(
        years=found.years,
        sources=[SourceOut(source=s, source_label=s.label) for s in agg.SOURCES],
        learning_themes=[
            ThemeOut(learning_theme_id=int(r.theme_id), learning_theme_name=r.name, is_retired=bool(r.is_retired))
            for r in found.themes.itertuples()
        ],
        counts=[CountOut(**row) for row in found.count_rows()],
    ).model_dump(mode="json")
    return jsonify(body)


@api_route(
    "/learning-themes/<int:learning_theme_id>/items",
    "GET",
    summary="Every item tagged with a learning theme, from every source, with the path of its page",
    tag=TAG,
    query_model=YearsQuery,
    response_model=ItemsOut,
    roles=READERS,
)
def theme_items_get(learning_theme_id: int):
    p = principal()
    require(tv.can_view_themes_across_sources(p))
    theme = tv.get_learning_theme_or_404(p, learning_theme_id)
    first, last = _years()
    found = tv.across_sources(p.partnership_id, first, last, theme.id)
    body = ItemsOut(
        learning_theme_id=theme.id,
        learning_theme_name=theme.name,
        is_retired=theme.is_retired,
        years=found.years,
        items=[ItemOut(**row) for row in tv.item_rows(found)],
    ).model_dump(mode="json")
    return jsonify(body)
