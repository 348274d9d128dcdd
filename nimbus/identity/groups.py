"""Groups of users, and what joining or leaving one means for tokens and roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.lookup import all_rows, flush_unique, get, where_equal
from nimbus.db.models.identity import Assignment, Group, Membership, User
from nimbus.errors import NotFound
from nimbus.identity import revocation
from nimbus.identity.projects import get_domain


async def get_group(session: AsyncSession, group_id: str) -> Group:
    return await get(session, Group, group_id, "group")


async def list_groups(session: AsyncSession, **filters: Any) -> list[Group]:
    return await all_rows(session, where_equal(select(Group), Group, filters).order_by(Group.name))


async def create_group(session: AsyncSession, *, name: str, domain_id: str, **fields: Any) -> Group:
    await get_domain(session, domain_id)
    group = Group(name=name, domain_id=domain_id, **fields)
    session.add(group)
    await save_group(session, group)
    return group


async def save_group(session: AsyncSession, group: Group) -> None:
    """Write a new or renamed group; a name taken in its domain is a 409."""
    await flush_unique(
        session,
        f"Conflict occurred attempting to store group - Duplicate entry found with "
        f"name {group.name} at domain ID {group.domain_id}.",
    )


async def member_ids(session: AsyncSession, group_id: str) -> list[str]:
    return await all_rows(
        session, select(Membership.user_id).where(Membership.group_id == group_id)
    )


async def delete_group(session: AsyncSession, group: Group) -> None:
    """Delete a group with its grants; its members lose the tokens those grants backed."""
    had_roles = await session.scalar(select(exists().where(Assignment.actor_id == group.id)))
    members = await member_ids(session, group.id)
    await session.execute(delete(Assignment).where(Assignment.actor_id == group.id))
    await session.execute(delete(Membership).where(Membership.group_id == group.id))
    if had_roles:
        for user_id in members:
            await revocation.revoke_user(session, user_id)
    await session.delete(group)


async def is_member(session: AsyncSession, group_id: str, user_id: str) -> bool:
    return await session.get(Membership, (user_id, group_id)) is not None


def _not_member(group_id: str, user_id: str) -> NotFound:
    return NotFound(f"User '{user_id}' not found in group '{group_id}'")


async def check_member(session: AsyncSession, group_id: str, user_id: str) -> None:
    if not await is_member(session, group_id, user_id):
        raise _not_member(group_id, user_id)


async def add_member(session: AsyncSession, group_id: str, user_id: str) -> None:
    """Add a user to a group; adding a member again changes nothing (as upstream)."""
    if not await is_member(session, group_id, user_id):
        session.add(Membership(user_id=user_id, group_id=group_id))
        await session.flush()


async def remove_member(session: AsyncSession, group_id: str, user_id: str) -> None:
    """Remove a member; their tokens go, since they may carry the group's roles."""
    membership = await session.get(Membership, (user_id, group_id))
    if membership is None:
        raise _not_member(group_id, user_id)
    await session.delete(membership)
    await revocation.revoke_user(session, user_id)


async def members(session: AsyncSession, group_id: str, **filters: Any) -> list[User]:
    query = select(User).join(Membership, Membership.user_id == User.id)
    query = where_equal(query.where(Membership.group_id == group_id), User, filters)
    return await all_rows(session, query.order_by(User.name))


async def groups_of_user(session: AsyncSession, user_id: str, **filters: Any) -> list[Group]:
    query = select(Group).join(Membership, Membership.group_id == Group.id)
    query = where_equal(query.where(Membership.user_id == user_id), Group, filters)
    return await all_rows(session, query.order_by(Group.name))
