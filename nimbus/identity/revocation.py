"""Token revocation: rules checked on every validation, so a revoke is seen at once
by every API process that shares the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import utcnow
from nimbus.db.models.identity import RevocationEvent
from nimbus.identity.tokens import TokenData


async def revoke_token(session: AsyncSession, token: TokenData) -> None:
    """Revoke one token, by its own audit id (tokens rescoped from it live on, as
    upstream: DELETE /v3/auth/tokens revokes exactly the token it names)."""
    session.add(
        RevocationEvent(
            audit_id=token.audit_ids[0], issued_before=utcnow(), expires_at=token.expires_at
        )
    )


async def revoke_user(session: AsyncSession, user_id: str) -> None:
    """Every token of a user issued until now (password change, disabled, deleted)."""
    session.add(RevocationEvent(user_id=user_id, issued_before=utcnow()))


async def revoke_project(session: AsyncSession, project_id: str) -> None:
    session.add(RevocationEvent(project_id=project_id, issued_before=utcnow()))


async def revoke_user_on_project(session: AsyncSession, user_id: str, project_id: str) -> None:
    """A role was taken away: the user's tokens for that project must go."""
    session.add(RevocationEvent(user_id=user_id, project_id=project_id, issued_before=utcnow()))


def _matches(event: RevocationEvent, token: TokenData) -> bool:
    if event.audit_id is not None:
        return event.audit_id == token.audit_ids[0]
    if event.issued_before < token.issued_at:
        return False
    if event.user_id is not None and event.user_id != token.user_id:
        return False
    return event.project_id is None or event.project_id == token.scope.project_id


async def is_revoked(session: AsyncSession, token: TokenData) -> bool:
    """One indexed query for the rules that could match, then the exact test here.

    This runs on every request of every service, so it is kept to a single simple
    statement; the few candidate rows are filtered in Python.
    """
    conditions = [
        RevocationEvent.audit_id == token.audit_ids[0],
        RevocationEvent.user_id == token.user_id,
    ]
    if token.scope.project_id:
        conditions.append(RevocationEvent.project_id == token.scope.project_id)
    candidates = await session.scalars(select(RevocationEvent).where(or_(*conditions)))
    return any(_matches(event, token) for event in candidates)


async def prune(session: AsyncSession, older_than: datetime) -> None:
    """Forget rules that no live token can match any more."""
    await session.execute(delete(RevocationEvent).where(RevocationEvent.issued_before < older_than))
