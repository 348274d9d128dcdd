"""Users and their passwords."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import utcnow
from nimbus.db.lookup import all_rows, flush_unique, get, where_equal
from nimbus.db.models.identity import Assignment, Membership, User
from nimbus.errors import BadRequest, Unauthorized
from nimbus.identity import revocation
from nimbus.identity.passwords import MAX_BYTES, hash_password, verify_password
from nimbus.identity.projects import get_domain


async def get_user(session: AsyncSession, user_id: str) -> User:
    return await get(session, User, user_id, "user")


async def find_user(
    session: AsyncSession, *, id: str | None, name: str | None, domain_id: str | None
) -> User | None:
    if id:
        return await session.get(User, id)
    return await session.scalar(select(User).where(User.name == name, User.domain_id == domain_id))


async def list_users(session: AsyncSession, **filters: Any) -> list[User]:
    return await all_rows(session, where_equal(select(User), User, filters).order_by(User.name))


def _check_password(password: str) -> None:
    if len(password.encode()) > MAX_BYTES:
        raise BadRequest(f"Invalid input for field 'password': longer than {MAX_BYTES} bytes.")


async def create_user(
    session: AsyncSession, *, name: str, domain_id: str, password: str | None, **fields: Any
) -> User:
    await get_domain(session, domain_id)
    user = User(name=name, domain_id=domain_id, **fields)
    if password is not None:
        _check_password(password)
        user.password_hash = await hash_password(password)
        user.password_created_at = utcnow()
    session.add(user)
    await flush_unique(
        session,
        f"Conflict occurred attempting to store user - Duplicate entry found with "
        f"name {name} at domain ID {domain_id}.",
    )
    return user


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    """Replace the password; tokens issued before stay valid only until now."""
    _check_password(password)
    user.password_hash = await hash_password(password)
    user.password_created_at = utcnow()
    await revocation.revoke_user(session, user.id)


async def change_password(session: AsyncSession, user: User, original: str, password: str) -> None:
    """The self-service change: the caller proves the old password first."""
    if not await verify_password(original, user.password_hash):
        raise Unauthorized("The request you have made requires authentication.")
    await set_password(session, user, password)


async def set_enabled(session: AsyncSession, user: User, enabled: bool) -> None:
    if user.enabled and not enabled:
        await revocation.revoke_user(session, user.id)
    user.enabled = enabled


async def delete_user(session: AsyncSession, user: User) -> None:
    await session.execute(delete(Assignment).where(Assignment.actor_id == user.id))
    await session.execute(delete(Membership).where(Membership.user_id == user.id))
    await revocation.revoke_user(session, user.id)
    await session.delete(user)
