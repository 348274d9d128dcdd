"""Application credentials: a user's secret for one project and a subset of its roles.

Only a hash of the secret is stored; the secret itself is shown once, when created.
Authentication with them lives in nimbus.identity.auth.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.lookup import all_rows, flush_unique, where_equal
from nimbus.db.models.identity import GLOBAL_ROLE, ApplicationCredential, Project, Role
from nimbus.errors import BadRequest, NotFound
from nimbus.identity import assignments
from nimbus.identity.passwords import MAX_BYTES, hash_password
from nimbus.identity.roles import implied_closure


def new_secret() -> str:
    """48 random bytes in URL-safe base64: Keystone's form, but short enough (64
    characters) for bcrypt, which reads at most 72 bytes of a secret."""
    return base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()


def _invalid(detail: str) -> BadRequest:
    return BadRequest(f"Invalid application credential: {detail}")


def parse_expiry(text: str) -> datetime:
    """An ISO 8601 expiry (UTC when no zone is given) that is not already past."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            "Timestamp not in expected format. The server could not comply with the request "
            "since it is either malformed or otherwise incorrect. The client is assumed to "
            "be in error."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= datetime.now(UTC):
        raise BadRequest(
            "The 'expires_at' must not be before now. The server could not comply with the "
            "request since it is either malformed or otherwise incorrect. The client is "
            "assumed to be in error."
        )
    return moment


def role_ref(role: Role) -> dict[str, str | None]:
    """How a credential stores (and shows) each of its roles."""
    return {
        "id": role.id,
        "name": role.name,
        "domain_id": None if role.domain_id == GLOBAL_ROLE else role.domain_id,
    }


async def create(
    session: AsyncSession,
    *,
    user_id: str,
    project: Project,
    name: str,
    secret: str,
    roles: list[Role],
    **fields: object,
) -> ApplicationCredential:
    """A credential for `roles`, each of which the user must hold on `project` now."""
    if len(secret.encode()) > MAX_BYTES:
        raise BadRequest(f"Invalid input for field 'secret': longer than {MAX_BYTES} bytes.")
    held = await assignments.effective_role_ids(session, user_id, project=project)
    for role in roles:
        if role.id not in held:
            raise _invalid(
                f"Could not find role assignment with role: {role.id}, user or group: "
                f"{user_id}, project, domain, or system: {project.id}."
            )
    credential = ApplicationCredential(
        user_id=user_id,
        project_id=project.id,
        name=name,
        secret_hash=await hash_password(secret),
        roles=[role_ref(r) for r in roles],
        **fields,
    )
    session.add(credential)
    await flush_unique(
        session,
        "Conflict occurred attempting to store application_credential - "
        f"Duplicate entry found with name {name}.",
    )
    return credential


async def choose_roles(
    session: AsyncSession,
    requested: list[tuple[str | None, str | None]],
    token_role_ids: Collection[str],
) -> list[Role]:
    """The roles a new credential gets: those requested (by id or name) with the roles
    they imply, or all of the token's when none are requested.

    Each must be on the creator's token, so that a credential never grants more than
    the token that made it.
    """
    if not requested:
        return await assignments.roles_by_id(session, set(token_role_ids))
    chosen: set[str] = set()
    for role_id, name in requested:
        if role_id is None:
            role = await session.scalar(
                select(Role).where(Role.name == name, Role.domain_id == GLOBAL_ROLE)
            )
            if role is None:
                raise NotFound(f"Could not find role: {name}.")
            role_id = role.id
        chosen.add(role_id)
    chosen = await implied_closure(session, chosen)
    if not chosen <= set(token_role_ids):
        raise _invalid("Cannot create an application credential with unassigned role")
    return await assignments.roles_by_id(session, chosen)


def not_found(credential_id: str) -> NotFound:
    return NotFound(f"Could not find Application Credential: {credential_id}.")


async def list_for_user(
    session: AsyncSession, user_id: str, *, name: str | None = None
) -> list[ApplicationCredential]:
    query = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)
    query = where_equal(query, ApplicationCredential, {"name": name})
    return await all_rows(session, query.order_by(ApplicationCredential.name))


async def delete(session: AsyncSession, credential: ApplicationCredential) -> None:
    await session.delete(credential)
