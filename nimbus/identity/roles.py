"""Roles and the roles they imply (admin → member → reader)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.lookup import all_rows, flush_unique, get, where_equal
from nimbus.db.models.identity import GLOBAL_ROLE, Assignment, ImpliedRole, Membership, Role
from nimbus.errors import Conflict, Forbidden, NotFound
from nimbus.identity import revocation


async def get_role(session: AsyncSession, role_id: str) -> Role:
    return await get(session, Role, role_id, "role")


async def list_roles(session: AsyncSession, **filters: Any) -> list[Role]:
    filters.setdefault("domain_id", GLOBAL_ROLE)
    return await all_rows(session, where_equal(select(Role), Role, filters).order_by(Role.name))


async def create_role(
    session: AsyncSession, *, name: str, domain_id: str | None = None, **fields: Any
) -> Role:
    role = Role(name=name, domain_id=domain_id or GLOBAL_ROLE, **fields)
    session.add(role)
    await save_role(session, role)
    return role


async def save_role(session: AsyncSession, role: Role) -> None:
    """Write a new or renamed role; a name taken among its peers is a 409."""
    where = "" if role.domain_id == GLOBAL_ROLE else f" at domain ID {role.domain_id}"
    await flush_unique(
        session,
        f"Conflict occurred attempting to store role - Duplicate entry found with "
        f"name {role.name}{where}.",
    )


async def delete_role(session: AsyncSession, role: Role) -> None:
    """Delete a role with every grant of it and every inference it is part of.

    Its holders (directly or through a group) lose their tokens: those may carry it.
    """
    holders = await session.execute(
        select(Assignment.type, Assignment.actor_id).where(Assignment.role_id == role.id)
    )
    users: set[str] = set()
    groups: set[str] = set()
    for kind, actor_id in holders:
        (users if kind.startswith("User") else groups).add(actor_id)
    if groups:
        users.update(
            await all_rows(
                session, select(Membership.user_id).where(Membership.group_id.in_(groups))
            )
        )
    await session.execute(delete(Assignment).where(Assignment.role_id == role.id))
    await session.execute(
        delete(ImpliedRole).where(
            or_(ImpliedRole.prior_role_id == role.id, ImpliedRole.implied_role_id == role.id)
        )
    )
    for user_id in sorted(users):
        await revocation.revoke_user(session, user_id)
    await session.delete(role)


# -- implied roles ---------------------------------------------------------------------

#: Roles no other role may imply (Keystone's [assignment] prohibited_implied_role).
PROHIBITED_IMPLIED = frozenset({"admin"})


async def get_implication(session: AsyncSession, prior_id: str, implied_id: str) -> ImpliedRole:
    link = await session.get(ImpliedRole, (prior_id, implied_id))
    if link is None:
        raise NotFound(f"{prior_id} does not imply {implied_id}.")
    return link


async def imply(session: AsyncSession, prior: Role, implied: Role) -> None:
    """Make holders of `prior` hold `implied` too.

    Keystone refuses to let anything imply admin, and a global role to imply a
    domain-specific one (which could then reach outside its domain).
    """
    if implied.name in PROHIBITED_IMPLIED or (
        prior.domain_id == GLOBAL_ROLE and implied.domain_id != GLOBAL_ROLE
    ):
        raise Forbidden(f"{implied.id} cannot be an implied roles.")
    if await session.get(ImpliedRole, (prior.id, implied.id)) is not None:
        raise Conflict("Conflict occurred attempting to store implied_role - Duplicate entry.")
    session.add(ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))
    await session.flush()


async def unimply(session: AsyncSession, prior_id: str, implied_id: str) -> None:
    await session.delete(await get_implication(session, prior_id, implied_id))


async def implied_roles(session: AsyncSession, prior_id: str) -> list[Role]:
    """The roles `prior_id` implies directly."""
    query = (
        select(Role)
        .join(ImpliedRole, ImpliedRole.implied_role_id == Role.id)
        .where(ImpliedRole.prior_role_id == prior_id)
        .order_by(Role.name)
    )
    return await all_rows(session, query)


async def inference_rules(session: AsyncSession) -> dict[str, list[str]]:
    """Every prior role id with the ids of the roles it implies directly."""
    rules: dict[str, list[str]] = {}
    for prior, implied in await session.execute(
        select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)
    ):
        rules.setdefault(prior, []).append(implied)
    return rules


async def implied_closure(session: AsyncSession, role_ids: Iterable[str]) -> set[str]:
    """`role_ids` with every role they imply, transitively.

    The inference table is small (a handful of rules per cloud), so it is read in one
    query and closed here rather than walked one level per query.
    """
    rules = await inference_rules(session)
    found = set(role_ids)
    frontier = set(found)
    while frontier:
        frontier = {implied for prior in frontier for implied in rules.get(prior, ())} - found
        found |= frontier
    return found
