"""What the handlers of every identity resource share: find the row a URL names,
check the caller's right to act on it, and answer with Keystone's body shapes.

Each resource module describes its kind once (how to fetch, show and authorize a row)
and keeps only what is particular to it: filters, creation, the effects of a change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import parse
from nimbus.api.common.handler import authorize, base_url, db
from nimbus.api.identity import views

#: Applies a validated PATCH body to a row inside the request's transaction.
Change = Callable[[AsyncSession, Any, Any], Awaitable[None]]
Remove = Callable[[AsyncSession, Any], Awaitable[None]]
#: Creates the row a validated POST body describes.
Make = Callable[[AsyncSession, Any], Awaitable[Any]]


def session_for(request: Request, *, write: bool) -> AbstractAsyncContextManager[AsyncSession]:
    """The request's one transaction when it writes, a plain reader otherwise."""
    return db(request).transaction() if write else db(request).reader()


@dataclass(frozen=True)
class Kind:
    """One kind of identity resource, as its handlers need it."""

    #: The body key ("group") and the stem of its path parameter ("group_id").
    name: str
    fetch: Callable[[AsyncSession, str], Awaitable[Any]]
    view: Callable[[str, Any], dict[str, Any]]
    #: The row's policy target (under `name`); None for rules that read no target.
    target: Callable[[Any], dict[str, Any]] | None = None
    #: The rule for (action, row); by default identity:<action>_<name>.
    rule: Callable[[str, Any], str] | None = None

    async def load(
        self, session: AsyncSession, request: Request, action: str, *, rule: str | None = None
    ) -> Any:
        """The row of the URL, once the caller may apply `action` (or `rule`) to it.

        A missing row is a 404 before any policy check, as for users and projects.
        """
        row = await self.fetch(session, request.path_params[f"{self.name}_id"])
        if rule is None:
            rule = self.rule(action, row) if self.rule else f"identity:{action}_{self.name}"
        authorize(request, rule, **({self.name: self.target(row)} if self.target else {}))
        return row

    def respond(self, request: Request, row: Any, status: int = 200) -> Response:
        return json_response({self.name: self.view(base_url(request), row)}, status=status)

    def listing(self, request: Request, rows: Iterable[Any]) -> Response:
        base = base_url(request)
        items = [self.view(base, row) for row in rows]
        return json_response(views.collection(base, request.url.path, f"{self.name}s", items))

    async def show(self, request: Request) -> Response:
        async with db(request).reader() as session:
            row = await self.load(session, request, "get")
        return self.respond(request, row)

    async def create(self, request: Request, schema: type[BaseModel], make: Make) -> Response:
        """POST for kinds whose create rule reads no target: 201 with the new row."""
        body = getattr(await parse(request, schema), self.name)
        authorize(request, f"identity:create_{self.name}")
        async with db(request).transaction() as session:
            row = await make(session, body)
        return self.respond(request, row, status=201)

    async def update(self, request: Request, schema: type[BaseModel], change: Change) -> Response:
        """PATCH: validate the body, then `change` the row in one transaction."""
        body = getattr(await parse(request, schema), self.name)
        async with db(request).transaction() as session:
            row = await self.load(session, request, "update")
            await change(session, row, body)
        return self.respond(request, row)

    async def delete(self, request: Request, remove: Remove) -> Response:
        async with db(request).transaction() as session:
            await remove(session, await self.load(session, request, "delete"))
        return no_content()
