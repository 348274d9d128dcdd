"""Server groups: a policy (affinity, anti-affinity, soft-affinity,
soft-anti-affinity, optionally with rules) over the servers booted into the group.

Members are written by the boot path (one row per instance in server_group_member);
here they are read, showing only servers that still exist, as upstream does. A group
belongs to a project: other projects' callers do not see it at all (404).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import quotas
from nimbus.db.models.cell import Instance
from nimbus.db.models.compute import ServerGroup, ServerGroupMember
from nimbus.errors import BadRequest, NotFound

POLICIES = ("anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity")
#: The policies clients older than 2.15 may ask for.
POLICIES_V21 = ("anti-affinity", "affinity")


class ServerGroupNotFound(NotFound):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"Instance group {uuid} could not be found.")


async def get(session: AsyncSession, uuid: str, project_id: str | None = None) -> ServerGroup:
    """The group (in `project_id` when given: other projects' groups do not exist)."""
    query = select(ServerGroup).where(ServerGroup.uuid == uuid)
    if project_id is not None:
        query = query.where(ServerGroup.project_id == project_id)
    row = await session.scalar(query)
    if row is None:
        raise ServerGroupNotFound(uuid)
    return row


async def list_groups(
    session: AsyncSession, project_id: str | None, *, offset: int = 0, limit: int = 1000
) -> list[ServerGroup]:
    """Groups of `project_id` (of every project when None), oldest first."""
    query: Select[Any] = select(ServerGroup).order_by(ServerGroup.id)
    if project_id is not None:
        query = query.where(ServerGroup.project_id == project_id)
    return list(await session.scalars(query.offset(offset).limit(limit)))


async def members(session: AsyncSession, groups: list[ServerGroup]) -> dict[int, list[str]]:
    """Each group's members that are not deleted (a member without an instance row yet
    is still being built, and counts), by group row id."""
    found: dict[int, list[str]] = {g.id: [] for g in groups}
    if not groups:
        return found
    deleted = exists().where(
        Instance.uuid == ServerGroupMember.instance_uuid, Instance.deleted != 0
    )
    rows = await session.execute(
        select(ServerGroupMember.group_id, ServerGroupMember.instance_uuid)
        .where(ServerGroupMember.group_id.in_(list(found)), not_(deleted))
        .order_by(ServerGroupMember.instance_uuid)
    )
    for group_id, instance_uuid in rows:
        found[group_id].append(instance_uuid)
    return found


async def create(
    session: AsyncSession,
    *,
    project_id: str,
    user_id: str,
    name: str,
    policy: str,
    rules: dict[str, Any] | None = None,
) -> ServerGroup:
    """A new group, within the project's server_groups quota (403 beyond it); rules
    are for anti-affinity only (400 otherwise)."""
    if rules and policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    await quotas.check(session, project_id, user_id, server_groups=1)
    row = ServerGroup(
        name=name, project_id=project_id, user_id=user_id, policy=policy, rules=rules or {}
    )
    session.add(row)
    await session.flush()
    return row


async def delete(session: AsyncSession, group: ServerGroup) -> None:
    await session.delete(group)
    await session.flush()
