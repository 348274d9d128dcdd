"""What the handlers of every Neutron resource share, written once: find the row in
the caller's scope and check the policy (a resource the caller may not even read is
"not found", never "forbidden"), then show, list, delete, or run a resource's own
create/update logic in one transaction and answer in Neutron's envelope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.network import listing
from nimbus.api.network.common import (
    Model,
    authorize_on,
    parse_many,
    parse_one,
    reading,
    scope,
    set_fields,
    target,
    write,
)
from nimbus.network.errors import NeutronError
from nimbus.network.scope import Scope

Row = TypeVar("Row")
Document = dict[str, Any]
PolicyTarget = dict[str, Any]

#: The rows as the API shows them, loading what they need beside them in `session`.
Documents = Callable[[Request, AsyncSession, list[Row]], Awaitable[list[Document]]]
#: A resource's own creation of one row, prepared (checked) before the transaction.
Maker = Callable[[AsyncSession], Awaitable[Row]]
#: A resource's own update of a row found and allowed: (session, row, policy target).
Change = Callable[[AsyncSession, Row, PolicyTarget], Awaitable[object]]


async def owner_target(_session: AsyncSession, row: Any) -> PolicyTarget:
    """The policy target of a resource judged by its owner alone."""
    return target(row.project_id)


def each(view: Callable[[Row], Document]) -> Documents[Row]:
    """`Documents` for a resource whose view needs nothing but its row."""

    async def documents(
        _request: Request, _session: AsyncSession, rows: list[Row]
    ) -> list[Document]:
        return [view(row) for row in rows]

    return documents


@dataclass(frozen=True)
class Resource(Generic[Row]):
    """One resource kind: its names, its domain functions and its not-found error.

    `show`, `index` and `delete` are request handlers as they are; `create` and
    `update` run the resource's own logic inside the shared frame."""

    #: The singular name: the body's key, the policies' suffix (`get_network`).
    name: str
    #: The row by id, if the caller's scope holds it (else the domain's not-found error).
    get: Callable[[AsyncSession, Scope, str], Awaitable[Row]]
    #: The rows the caller's scope holds.
    rows: Callable[[AsyncSession, Scope], Awaitable[list[Row]]]
    #: Deletes a row found and allowed, or refuses (in use: 409).
    remove: Callable[[AsyncSession, Scope, Row], Awaitable[object]]
    documents: Documents[Row]
    #: The error of an id the caller may not even read, as of one that does not exist.
    missing: Callable[[str], NeutronError]
    policy_target: Callable[[AsyncSession, Row], Awaitable[PolicyTarget]] = owner_target

    @property
    def collection(self) -> str:
        """The plural name: the collection's key and the bulk body's key."""
        return f"{self.name}s"

    async def find(
        self, request: Request, session: AsyncSession, action: str, row_id: str
    ) -> tuple[Row, PolicyTarget]:
        """The row `action` is asked on, once the caller may take it, and its target."""
        row = await self.get(session, scope(request), row_id)
        policy = await self.policy_target(session, row)
        authorize_on(request, action, self.name, policy, self.missing(row_id))
        return row, policy

    async def given(self, request: Request, model: type[BaseModel]) -> dict[str, Any]:
        """The attributes the update body `{name: {...}}` sets, by their API names."""
        return set_fields(await parse_one(request, self.name, model))

    async def _document(self, request: Request, session: AsyncSession, row: Row) -> Document:
        (document,) = await self.documents(request, session, [row])
        return document

    async def index(self, request: Request) -> Response:
        async with reading(request) as session:
            rows = await self.rows(session, scope(request))
            documents = await self.documents(request, session, rows)
        return listing.respond(request, self.collection, documents)

    async def show(self, request: Request) -> Response:
        async with reading(request) as session:
            row, _ = await self.find(
                request, session, f"get_{self.name}", request.path_params["id"]
            )
            document = await self._document(request, session, row)
        return json_response({self.name: listing.fields(request, document)})

    async def create(
        self, request: Request, model: type[Model], prepare: Callable[[Model], Maker[Row]]
    ) -> Response:
        """`{name: {...}}` or, in bulk, `{collection: [...]}`: `prepare` checks every
        body before anything is written (what needs the database, its maker checks),
        then all rows are made in one transaction: all of them or none."""
        bodies, bulk = await parse_many(request, self.name, self.collection, model)
        makers = [prepare(body) for body in bodies]

        async def work(session: AsyncSession) -> list[Document]:
            rows = [await make(session) for make in makers]
            return await self.documents(request, session, rows)

        documents = await write(request, work)
        if bulk:
            return json_response({self.collection: documents}, 201)
        return json_response({self.name: documents[0]}, 201)

    async def update(self, request: Request, change: Change[Row]) -> Response:
        row_id = request.path_params["id"]

        async def work(session: AsyncSession) -> Document:
            row, policy = await self.find(request, session, f"update_{self.name}", row_id)
            await change(session, row, policy)
            return await self._document(request, session, row)

        return json_response({self.name: await write(request, work)})

    async def delete(self, request: Request) -> Response:
        row_id = request.path_params["id"]

        async def work(session: AsyncSession) -> None:
            row, _ = await self.find(request, session, f"delete_{self.name}", row_id)
            await self.remove(session, scope(request), row)

        await write(request, work)
        return no_content()
