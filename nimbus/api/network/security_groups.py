"""/v2.0/security-groups and /v2.0/security-group-rules.

Listing or creating groups first makes sure the caller's project has its `default`
group, as upstream does, so a new project sees it at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.handler import caller
from nimbus.api.network import listing, schemas, views
from nimbus.api.network.common import (
    authorize,
    options,
    owner,
    scope,
    set_fields,
    target,
    write,
)
from nimbus.api.network.resource import Maker, Resource
from nimbus.db.models.network import SecurityGroup, SecurityGroupRule
from nimbus.network import errors
from nimbus.network import security_groups as groups


async def documents(
    _request: Request, session: AsyncSession, rows: list[SecurityGroup]
) -> list[dict]:
    ids = [row.id for row in rows]
    rules = await groups.rules_of(session, ids)
    defaults = await groups.default_ids(session, ids)
    return [views.security_group(row, rules[row.id], row.id in defaults) for row in rows]


async def rule_documents(
    _request: Request, session: AsyncSession, rows: list[SecurityGroupRule]
) -> list[dict]:
    defaults = await groups.default_ids(session, list({row.security_group_id for row in rows}))
    return [views.security_group_rule(row, row.security_group_id in defaults) for row in rows]


GROUP = Resource(
    name="security_group",
    get=groups.get,
    rows=groups.listing,
    remove=groups.delete_group,
    documents=documents,
    missing=lambda group_id: errors.SecurityGroupNotFound(id=group_id),
)
RULE = Resource(
    name="security_group_rule",
    get=groups.get_rule,
    rows=groups.list_rules,
    remove=lambda session, _scope, row: groups.delete_rule(session, row),
    documents=rule_documents,
    missing=lambda rule_id: errors.SecurityGroupRuleNotFound(id=rule_id),
)


def _given(body: schemas.SecurityGroupCreate | schemas.SecurityGroupRuleCreate) -> dict[str, Any]:
    """The body's attributes the domain takes (the owner is passed on its own)."""
    ignored = ("project_id", "tenant_id", "remote_address_group_id")
    return {k: v for k, v in set_fields(body).items() if k not in ignored}


async def _ensure_default(request: Request, session: AsyncSession) -> None:
    project_id = caller(request).project_id
    if project_id:
        await groups.ensure_default(session, project_id)


async def list_groups(request: Request) -> Response:
    async def work(session: AsyncSession) -> list[dict]:
        await _ensure_default(request, session)
        return await documents(request, session, await groups.listing(session, scope(request)))

    return listing.respond(request, GROUP.collection, await write(request, work))


async def create_group(request: Request) -> Response:
    def prepare(body: schemas.SecurityGroupCreate) -> Maker[SecurityGroup]:
        project_id = owner(request, body)
        authorize(request, "create_security_group", target(project_id))
        given = _given(body)

        async def make(session: AsyncSession) -> SecurityGroup:
            await _ensure_default(request, session)  # once made, found by the next body
            return await groups.create(session, options(request), project_id=project_id, **given)

        return make

    return await GROUP.create(request, schemas.SecurityGroupCreate, prepare)


async def update_group(request: Request) -> Response:
    changes = await GROUP.given(request, schemas.SecurityGroupUpdate)

    async def change(session: AsyncSession, row: SecurityGroup, _policy: dict[str, Any]) -> None:
        await groups.update(session, row, changes)

    return await GROUP.update(request, change)


async def create_rule(request: Request) -> Response:
    def prepare(body: schemas.SecurityGroupRuleCreate) -> Maker[SecurityGroupRule]:
        project_id = owner(request, body)
        authorize(request, "create_security_group_rule", target(project_id))
        given = _given(body)
        return lambda session: groups.create_rule(
            session, scope(request), options(request), project_id=project_id, **given
        )

    return await RULE.create(request, schemas.SecurityGroupRuleCreate, prepare)
