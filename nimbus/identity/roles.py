"""Roles and the roles they imply (admin → member → reader)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.lookup import all_rows, flush_unique, get, where_equal
from nimbus.db.models.identity import GLOBAL_ROLE, ImpliedRole, Role


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
    await flush_unique(
        session,
        f"Conflict occurred attempting to store role - Duplicate entry found with name {name}.",
    )
    return role


async def implied_closure(session: AsyncSession, role_ids: Iterable[str]) -> set[str]:
    """`role_ids` with every role they imply, transitively."""
    found = set(role_ids)
    frontier = set(found)
    while frontier:
        implied = set(
            await all_rows(
                session,
                select(ImpliedRole.implied_role_id).where(ImpliedRole.prior_role_id.in_(frontier)),
            )
        )
        frontier = implied - found
        found |= frontier
    return found
