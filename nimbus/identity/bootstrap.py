"""The first start of a cloud: default domain, admin, roles, catalog, token keys.

Idempotent: every start runs it, and it only adds what is missing (and moves the
catalog's URLs when the process now listens elsewhere), so a restart keeps all state.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.identity import ImpliedRole, Project, Role, User
from nimbus.identity import assignments, catalog, projects, users
from nimbus.identity.assignments import Grant
from nimbus.identity.passwords import verify_password
from nimbus.identity.roles import create_role
from nimbus.identity.tokens import load_codec

ADMIN = "admin"
#: The default personas, each implying the next (admin → manager → member → reader),
#: as Keystone's bootstrap makes them.
ROLE_CHAIN = ("admin", "manager", "member", "reader")
#: Keystone's bootstrap roles that imply nothing: `service` marks service users
#: (Nova's os-server-external-events rule, Tempest's service credentials ask for it).
STANDALONE_ROLES = ("service",)


@dataclass(frozen=True)
class Endpoint:
    """A service this process serves, as the catalog should list it."""

    type: str
    name: str
    url: str


@dataclass(frozen=True)
class BootstrapResult:
    admin_user_id: str
    admin_project_id: str
    #: The admin password when this run set it (first start, or --admin-password).
    new_admin_password: str | None


async def _ensure_roles(session: AsyncSession) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    for name in (*ROLE_CHAIN, *STANDALONE_ROLES):
        role = await session.scalar(select(Role).where(Role.name == name))
        roles[name] = role or await create_role(session, name=name)
    for prior, implied in itertools.pairwise(ROLE_CHAIN):
        link = await session.get(ImpliedRole, (roles[prior].id, roles[implied].id))
        if link is None:
            session.add(
                ImpliedRole(prior_role_id=roles[prior].id, implied_role_id=roles[implied].id)
            )
    await session.flush()
    return roles


async def _ensure_domain(session: AsyncSession) -> Project:
    domain = await session.get(Project, projects.DEFAULT_DOMAIN_ID)
    if domain is None:
        domain = await projects.create_domain(
            session,
            id=projects.DEFAULT_DOMAIN_ID,
            name="Default",
            description="The default domain",
            enabled=True,
            extra={},
        )
    return domain


async def _ensure_admin(
    session: AsyncSession, domain_id: str, password: str | None
) -> tuple[User, str | None]:
    user = await users.find_user(session, id=None, name=ADMIN, domain_id=domain_id)
    if user is None:
        chosen = password or secrets.token_urlsafe(18)
        user = await users.create_user(
            session,
            name=ADMIN,
            domain_id=domain_id,
            password=chosen,
            enabled=True,
            options={},
            extra={},
        )
        return user, chosen
    if password and not await verify_password(password, user.password_hash):
        await users.set_password(session, user, password)
        return user, password
    return user, None


async def bootstrap(
    session: AsyncSession,
    *,
    region: str,
    endpoints: list[Endpoint],
    admin_password: str | None = None,
) -> BootstrapResult:
    """Make the cloud usable by its admin; safe to run on every start."""
    await load_codec(session)
    domain = await _ensure_domain(session)
    roles = await _ensure_roles(session)
    admin_project = await session.scalar(
        select(Project).where(
            ~Project.is_domain, Project.name == ADMIN, Project.domain_id == domain.id
        )
    )
    if admin_project is None:
        admin_project = await projects.create_project(
            session,
            name=ADMIN,
            domain_id=domain.id,
            parent_id=None,
            description="Bootstrap project for initializing the cloud.",
            enabled=True,
            extra={},
        )
    user, new_password = await _ensure_admin(session, domain.id, admin_password)
    admin_role = roles[ADMIN].id
    await assignments.add(session, Grant("user", user.id, "project", admin_project.id, admin_role))
    await assignments.add(session, Grant("user", user.id, "system", assignments.SYSTEM, admin_role))
    await catalog.ensure_region(session, region)
    for endpoint in endpoints:
        await catalog.ensure_service(
            session, type=endpoint.type, name=endpoint.name, url=endpoint.url, region_id=region
        )
    return BootstrapResult(user.id, admin_project.id, new_password)
