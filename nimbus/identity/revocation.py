"""Token revocation: rules checked on every validation, so a revoke is seen at once
by every API process that shares the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import utcnow
from nimbus.db.models.identity import RevocationEvent
from nimbus.identity.tokens import TokenData


async def revoke_token(session: AsyncSession, token: TokenData) -> None:
    """Revoke one token (and every token rescoped from it: they share its audit chain)."""
    session.add(
        RevocationEvent(
            audit_id=token.audit_ids[-1], issued_before=utcnow(), expires_at=token.expires_at
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


async def is_revoked(session: AsyncSession, token: TokenData) -> bool:
    issued = token.issued_at
    project = token.scope.project_id
    user_rule = and_(
        RevocationEvent.user_id == token.user_id,
        RevocationEvent.issued_before >= issued,
        or_(RevocationEvent.project_id.is_(None), RevocationEvent.project_id == project),
    )
    rules = [RevocationEvent.audit_id.in_(token.audit_ids), user_rule]
    if project:
        rules.append(
            and_(
                RevocationEvent.project_id == project,
                RevocationEvent.user_id.is_(None),
                RevocationEvent.issued_before >= issued,
            )
        )
    return bool(await session.scalar(select(exists().where(or_(*rules)))))


async def prune(session: AsyncSession, older_than: datetime) -> None:
    """Forget rules that no live token can match any more."""
    await session.execute(delete(RevocationEvent).where(RevocationEvent.issued_before < older_than))
