"""Nova's security group proxy: /os-security-groups, /os-security-group-rules (both
up to 2.35, 404 after) and /servers/{id}/os-security-groups.

Thin handlers over nimbus.compute.security_group_proxy, which speaks Nova's shapes
over Neutron's rows. Creations answer 200 and deletions 202, as in Nova.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import schemas
from nimbus.api.compute.common import authorize, limit_of, parse, query_int, reading
from nimbus.api.compute.network_proxy import options, scope, write
from nimbus.api.compute.server_common import server_of
from nimbus.compute import security_group_proxy as proxy
from nimbus.db.models.network import SecurityGroup

RULE = "os_compute_api:os-security-groups"


async def _one(session: AsyncSession, row: SecurityGroup) -> Response:
    (document,) = (await proxy.describe(session, [row])).documents()
    return json_response({"security_group": document})


async def list_groups(request: Request) -> Response:
    authorize(request, f"{RULE}:get")
    every = "all_tenants" in request.query_params
    offset = query_int(request, "offset") or 0
    limit = limit_of(request)

    async def work(session: AsyncSession) -> list[dict]:
        rows = await proxy.list_groups(session, scope(request), all_projects=every)
        rows.sort(key=lambda row: row.created_at)
        return (await proxy.describe(session, rows[offset : offset + limit])).documents()

    return json_response({"security_groups": await write(request, work)})


async def show_group(request: Request) -> Response:
    authorize(request, f"{RULE}:show")
    async with reading(request) as session:
        row = await proxy.get_group(session, scope(request), request.path_params["id"])
        return await _one(session, row)


async def create_group(request: Request) -> Response:
    authorize(request, f"{RULE}:create")
    given = (await parse(request, schemas.SecurityGroupBody)).security_group

    async def work(session: AsyncSession) -> Response:
        row = await proxy.create_group(
            session, scope(request), options(request), given.name, given.description
        )
        return await _one(session, row)

    return await write(request, work)


async def update_group(request: Request) -> Response:
    authorize(request, f"{RULE}:update")
    given = (await parse(request, schemas.SecurityGroupBody)).security_group

    async def work(session: AsyncSession) -> Response:
        row = await proxy.update_group(
            session, scope(request), request.path_params["id"], given.name, given.description
        )
        return await _one(session, row)

    return await write(request, work)


async def delete_group(request: Request) -> Response:
    authorize(request, f"{RULE}:delete")

    async def work(session: AsyncSession) -> None:
        await proxy.delete_group(session, scope(request), request.path_params["id"])

    await write(request, work)
    return Response(status_code=202)


async def create_rule(request: Request) -> Response:
    """The groups named must exist (404) before the rule is checked (400), as in Nova."""
    authorize(request, f"{RULE}:rule:create")
    given = (await parse(request, schemas.SecurityGroupRuleBody)).security_group_rule

    async def work(session: AsyncSession) -> dict:
        caller = scope(request)
        await proxy.get_group(session, caller, given.parent_group_id)
        if given.group_id is not None:
            await proxy.get_group(session, caller, given.group_id)
        rule = proxy.new_rule(
            ip_protocol=given.ip_protocol,
            from_port=given.from_port,
            to_port=given.to_port,
            cidr=given.cidr,
            group_id=given.group_id,
        )
        row = await proxy.create_rule(
            session, caller, options(request), given.parent_group_id, rule
        )
        named = {row.remote_group_id} if row.remote_group_id else set()
        return proxy.rule_document(row, await proxy.sources_of(session, named))

    return json_response({"security_group_rule": await write(request, work)})


async def delete_rule(request: Request) -> Response:
    authorize(request, f"{RULE}:rule:delete")

    async def work(session: AsyncSession) -> None:
        await proxy.delete_rule(session, scope(request), request.path_params["id"])

    await write(request, work)
    return Response(status_code=202)


async def list_server_groups(request: Request) -> Response:
    """GET /servers/{id}/os-security-groups: the groups of the server's ports."""
    async with reading(request) as session:
        server = await server_of(session, request, request.path_params["server_id"])
        authorize(request, f"{RULE}:list", project_id=server.project_id)
        rows = await proxy.of_server(session, server.uuid)
        documents = (await proxy.describe(session, rows)).documents()
    return json_response({"security_groups": documents})
