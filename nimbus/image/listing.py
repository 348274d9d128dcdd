"""Listing images: Glance's filters, sort orders and marker paging, done in SQL.

Paging is by keyset: the page after a marker holds the images that sort after the
marker image, so pages stay consistent while images come and go.  The sort always
ends with created_at and id, which makes the order total; nullable sort keys sort as
"" or 0 when null (as Glance's paginator substitutes them), on both sides of the
comparison.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.lookup import all_rows
from nimbus.db.models.image import Image, ImageProperty, ImageTag
from nimbus.errors import BadRequest, NotFound
from nimbus.image.images import get_image
from nimbus.image.visibility import Viewer, listable

SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
)
#: What a null sorts as, per nullable sort key.
_NULL_AS: dict[str, Any] = {"name": "", "container_format": "", "disk_format": "", "size": 0}
#: The comparison operators of Glance's filters ("in" is handled apart).
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


@dataclass(frozen=True)
class Comparison:
    """`column op value`, e.g. ("size", "gte", 1024) or ("created_at", "gt", datetime)."""

    column: str
    op: str
    value: Any


@dataclass
class ImageQuery:
    """What a client asked a list for, already parsed and typed."""

    comparisons: list[Comparison] = field(default_factory=list)
    #: column → the values it may have (Glance's ``in:`` operator)
    among: dict[str, list[str]] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    visibility: str | None = None
    member_status: str = "accepted"
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    #: direction of the created_at/id tie-breakers appended to `sort`
    default_dir: str = "desc"
    marker: str | None = None
    limit: int = 25


def _key(name: str) -> Any:
    column = getattr(Image, name)
    return func.coalesce(column, _NULL_AS[name]) if name in _NULL_AS else column


def _value(image: Image, name: str) -> Any:
    value = getattr(image, name)
    return _NULL_AS.get(name) if value is None else value


def _complete(sort: list[tuple[str, str]], default_dir: str) -> list[tuple[str, str]]:
    keys = {key for key, _ in sort}
    return sort + [(key, default_dir) for key in ("created_at", "id") if key not in keys]


def _after(marker: Image, sort: list[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows that sort after `marker`: (k1 > m1) or (k1 = m1 and k2 > m2) or …"""
    clauses = []
    for position, (name, direction) in enumerate(sort):
        ties = [_key(key) == _value(marker, key) for key, _ in sort[:position]]
        compare = operator.gt if direction == "asc" else operator.lt
        clauses.append(and_(*ties, compare(_key(name), _value(marker, name))))
    return or_(*clauses)


def _filters(query: ImageQuery) -> list[ColumnElement[bool]]:
    conditions = [OPERATORS[c.op](getattr(Image, c.column), c.value) for c in query.comparisons]
    conditions += [getattr(Image, name).in_(values) for name, values in query.among.items()]
    conditions += [
        exists().where(
            ImageProperty.image_id == Image.id,
            ImageProperty.name == name,
            ImageProperty.value == value,
        )
        for name, value in query.properties.items()
    ]
    conditions += [
        exists().where(ImageTag.image_id == Image.id, ImageTag.value == tag) for tag in query.tags
    ]
    return conditions


async def list_images(session: AsyncSession, viewer: Viewer, query: ImageQuery) -> list[Image]:
    """One page of the images `viewer` may list that match `query`."""
    sort = _complete(query.sort, query.default_dir)
    statement = select(Image).where(
        listable(viewer, query.visibility, query.member_status), *_filters(query)
    )
    if query.marker is not None:
        try:
            marker = await get_image(session, query.marker, viewer)
        except NotFound as error:
            raise BadRequest(error.message) from None
        statement = statement.where(_after(marker, sort))
    order = [
        _key(name).asc() if direction == "asc" else _key(name).desc() for name, direction in sort
    ]
    return await all_rows(session, statement.order_by(*order).limit(query.limit))
