"""/v2.0/security-groups and /v2.0/security-group-rules.

Listing or creating groups first makes sure the caller's project has its `default`
group, as upstream does, so a new project sees it at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.handler import caller
from nimbus.api.network import listing, schemas, views
from nimbus.api.network.common import (
    authorize,
    authorize_on,
    created,
    options,
    owner,
    parse_many,
    parse_one,
    reading,
    scope,
    set_fields,
    target,
    write,
)
from nimbus.db.models.network import SecurityGroup, SecurityGroupRule
from nimbus.network import errors
from nimbus.network import security_groups as groups


def policy_target(row: SecurityGroup | SecurityGroupRule) -> dict[str, Any]:
    return target(row.project_id)


async def documents(session: AsyncSession, rows: list[SecurityGroup]) -> list[dict]:
    ids = [row.id for row in rows]
    rules = await groups.rules_of(session, ids)
    defaults = await groups.default_ids(session, ids)
    return [views.security_group(row, rules[row.id], row.id in defaults) for row in rows]


async def rule_documents(session: AsyncSession, rows: list[SecurityGroupRule]) -> list[dict]:
    defaults = await groups.default_ids(session, list({row.security_group_id for row in rows}))
    return [views.security_group_rule(row, row.security_group_id in defaults) for row in rows]


async def _ensure_default(request: Request, session: AsyncSession) -> None:
    project_id = caller(request).project_id
    if project_id:
        await groups.ensure_default(session, project_id)


async def list_groups(request: Request) -> Response:
    async def work(session: AsyncSession) -> list[dict]:
        await _ensure_default(request, session)
        return await documents(session, await groups.listing(session, scope(request)))

    return listing.respond(request, "security_groups", await write(request, work))


async def show_group(request: Request) -> Response:
    group_id = request.path_params["id"]
    async with reading(request) as session:
        row = await groups.get(session, scope(request), group_id)
        authorize_on(
            request,
            "get_security_group",
            "security_group",
            policy_target(row),
            errors.SecurityGroupNotFound(id=group_id),
        )
        (doc,) = await documents(session, [row])
    return json_response({"security_group": listing.fields(request, doc)})


async def create_group(request: Request) -> Response:
    bodies, bulk = await parse_many(
        request, "security_group", "security_groups", schemas.SecurityGroupCreate
    )
    wanted = []
    for body in bodies:
        project_id = owner(request, body)
        authorize(request, "create_security_group", target(project_id))
        given = {k: v for k, v in set_fields(body).items() if k not in ("project_id", "tenant_id")}
        wanted.append((project_id, given))

    async def work(session: AsyncSession) -> list[dict]:
        await _ensure_default(request, session)
        rows = [
            await groups.create(session, options(request), project_id=project_id, **given)
            for project_id, given in wanted
        ]
        return await documents(session, rows)

    docs = await write(request, work)
    return created("security_groups", docs) if bulk else created("security_group", docs[0])


async def update_group(request: Request) -> Response:
    body = await parse_one(request, "security_group", schemas.SecurityGroupUpdate)
    changes = set_fields(body)
    group_id = request.path_params["id"]

    async def work(session: AsyncSession) -> dict:
        row = await groups.get(session, scope(request), group_id)
        authorize_on(
            request,
            "update_security_group",
            "security_group",
            policy_target(row),
            errors.SecurityGroupNotFound(id=group_id),
        )
        await groups.update(session, row, changes)
        (doc,) = await documents(session, [row])
        return doc

    return json_response({"security_group": await write(request, work)})


async def delete_group(request: Request) -> Response:
    group_id = request.path_params["id"]

    async def work(session: AsyncSession) -> None:
        row = await groups.get(session, scope(request), group_id)
        authorize_on(
            request,
            "delete_security_group",
            "security_group",
            policy_target(row),
            errors.SecurityGroupNotFound(id=group_id),
        )
        await groups.delete_group(session, scope(request), row)

    await write(request, work)
    return no_content()


async def list_rules(request: Request) -> Response:
    async with reading(request) as session:
        docs = await rule_documents(session, await groups.list_rules(session, scope(request)))
    return listing.respond(request, "security_group_rules", docs)


async def show_rule(request: Request) -> Response:
    rule_id = request.path_params["id"]
    async with reading(request) as session:
        row = await groups.get_rule(session, scope(request), rule_id)
        authorize_on(
            request,
            "get_security_group_rule",
            "security_group_rule",
            policy_target(row),
            errors.SecurityGroupRuleNotFound(id=rule_id),
        )
        (doc,) = await rule_documents(session, [row])
    return json_response({"security_group_rule": listing.fields(request, doc)})


async def create_rule(request: Request) -> Response:
    bodies, bulk = await parse_many(
        request, "security_group_rule", "security_group_rules", schemas.SecurityGroupRuleCreate
    )
    wanted = []
    for body in bodies:
        project_id = owner(request, body)
        authorize(request, "create_security_group_rule", target(project_id))
        given = {
            k: v
            for k, v in set_fields(body).items()
            if k not in ("project_id", "tenant_id", "remote_address_group_id")
        }
        wanted.append((project_id, given))

    async def work(session: AsyncSession) -> list[dict]:
        rows = [
            await groups.create_rule(
                session, scope(request), options(request), project_id=project_id, **given
            )
            for project_id, given in wanted
        ]
        return await rule_documents(session, rows)

    docs = await write(request, work)
    if bulk:
        return created("security_group_rules", docs)
    return created("security_group_rule", docs[0])


async def delete_rule(request: Request) -> Response:
    rule_id = request.path_params["id"]

    async def work(session: AsyncSession) -> None:
        row = await groups.get_rule(session, scope(request), rule_id)
        authorize_on(
            request,
            "delete_security_group_rule",
            "security_group_rule",
            policy_target(row),
            errors.SecurityGroupRuleNotFound(id=rule_id),
        )
        await groups.delete_rule(session, row)

    await write(request, work)
    return no_content()
