"""Per-project limits on how many of each resource exist (Neutron's quotas extension).

Usage is counted from the tables at the moment of a create, inside its transaction,
so a limit holds as long as creates of one project are serialised (SQLite; upstream
takes the same approach with its "no reservations" counting driver).
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import (
    FloatingIp,
    Network,
    Port,
    Quota,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from nimbus.network import errors
from nimbus.network.options import NetworkOptions

MODELS = {
    "network": Network,
    "subnet": Subnet,
    "port": Port,
    "router": Router,
    "floatingip": FloatingIp,
    "security_group": SecurityGroup,
    "security_group_rule": SecurityGroupRule,
}
UNLIMITED = -1


async def limits(session: AsyncSession, options: NetworkOptions, project_id: str) -> dict[str, int]:
    rows = await session.scalars(select(Quota).where(Quota.project_id == project_id))
    overrides = {row.resource: row.limit for row in rows}
    return {name: overrides.get(name, default) for name, default in options.default_quotas.items()}


async def used(session: AsyncSession, project_id: str) -> dict[str, int]:
    counts = {}
    for name, model in MODELS.items():
        query = select(func.count()).select_from(model).where(model.project_id == project_id)
        counts[name] = (await session.scalar(query)) or 0
    return counts


async def check(
    session: AsyncSession, options: NetworkOptions, project_id: str, resource: str, adding: int = 1
) -> None:
    """Refuse creating `adding` more `resource`s beyond the project's limit (409)."""
    if not project_id:
        return
    limit = (await limits(session, options, project_id))[resource]
    if limit == UNLIMITED:
        return
    model = MODELS[resource]
    query = select(func.count()).select_from(model).where(model.project_id == project_id)
    if ((await session.scalar(query)) or 0) + adding > limit:
        raise errors.OverQuota(overs=[resource])


async def update(session: AsyncSession, project_id: str, values: dict[str, int]) -> None:
    for resource, limit in values.items():
        if limit < UNLIMITED:
            raise errors.InvalidInput(
                error_message=f"'{limit}' should be greater than or equal to -1"
            )
        row = await session.get(Quota, (project_id, resource))
        if row is None:
            session.add(Quota(project_id=project_id, resource=resource, limit=limit))
        else:
            row.limit = limit


async def reset(session: AsyncSession, project_id: str) -> None:
    await session.execute(delete(Quota).where(Quota.project_id == project_id))


async def projects_with_quotas(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(Quota.project_id).distinct())).all())
