"""Role assignments: who holds which role where, directly, through groups, by
inheritance down the project tree, and through implied roles."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.identity import GLOBAL_ROLE, Assignment, Membership, Project, Role
from nimbus.errors import BadRequest, Forbidden, NotFound
from nimbus.identity import revocation
from nimbus.identity.projects import ancestors
from nimbus.identity.roles import implied_closure

SYSTEM = "all"


@dataclass(frozen=True)
class Grant:
    """One assignment as the API names it: actor kind + id, target kind + id, role."""

    actor: str  # "user" | "group"
    actor_id: str
    target: str  # "project" | "domain" | "system"
    target_id: str
    role_id: str
    inherited: bool = False

    @property
    def type(self) -> str:
        return f"{self.actor.capitalize()}{self.target.capitalize()}"

    def row(self) -> Assignment:
        return Assignment(
            type=self.type,
            actor_id=self.actor_id,
            target_id=self.target_id,
            role_id=self.role_id,
            inherited=self.inherited,
        )


def _key(grant: Grant):
    return and_(
        Assignment.type == grant.type,
        Assignment.actor_id == grant.actor_id,
        Assignment.target_id == grant.target_id,
        Assignment.role_id == grant.role_id,
        Assignment.inherited == grant.inherited,
    )


async def exists(session: AsyncSession, grant: Grant) -> bool:
    return (await session.scalar(select(Assignment.role_id).where(_key(grant)))) is not None


async def add(session: AsyncSession, grant: Grant) -> None:
    """Grant a role; granting one that is already held changes nothing."""
    if not await exists(session, grant):
        session.add(grant.row())
        await session.flush()


def _missing(grant: Grant) -> NotFound:
    return NotFound(
        f"Could not find role assignment with role: {grant.role_id}, user or group: "
        f"{grant.actor_id}, project, domain, or system: {grant.target_id}."
    )


async def check(session: AsyncSession, grant: Grant) -> None:
    """NotFound unless the grant exists."""
    if not await exists(session, grant):
        raise _missing(grant)


def check_assignable(grant: Grant, role: Role, project: Project | None) -> None:
    """A domain-specific role goes only on its own domain's projects, never on the system."""
    if role.domain_id == GLOBAL_ROLE:
        return
    if grant.target == "system":
        raise BadRequest(
            f"Role {role.id} is a domain-specific role. Unable to use a domain-specific "
            "role in a system assignment."
        )
    if project is not None and project.domain_id != role.domain_id:
        raise Forbidden(
            f"Project {project.id} must be in the same domain as the role {role.id} being assigned."
        )


async def roles_on(session: AsyncSession, grant: Grant) -> list[Role]:
    """The roles granted to `grant`'s actor on its target (its own role_id is ignored)."""
    role_ids = select(Assignment.role_id).where(
        Assignment.type == grant.type,
        Assignment.actor_id == grant.actor_id,
        Assignment.target_id == grant.target_id,
        Assignment.inherited == grant.inherited,
    )
    rows = await session.scalars(select(Role).where(Role.id.in_(role_ids)).order_by(Role.name))
    return list(rows.all())


async def remove(session: AsyncSession, grant: Grant) -> None:
    """Take a role away, and with it the tokens it was behind."""
    result = await session.execute(delete(Assignment).where(_key(grant)))
    if result.rowcount == 0:
        raise _missing(grant)
    if grant.actor == "user" and grant.target == "project":
        await revocation.revoke_user_on_project(session, grant.actor_id, grant.target_id)
    elif grant.actor == "user":
        await revocation.revoke_user(session, grant.actor_id)


async def group_ids(session: AsyncSession, user_id: str) -> list[str]:
    rows = await session.scalars(select(Membership.group_id).where(Membership.user_id == user_id))
    return list(rows.all())


def _actor_is(user_id: str) -> ColumnElement[bool]:
    """The user itself or any group it is a member of."""
    groups = select(Membership.group_id).where(Membership.user_id == user_id)
    return or_(Assignment.actor_id == user_id, Assignment.actor_id.in_(groups))


def _grants_role(row: tuple[str, str, str, bool], project: Project, parents: set[str]) -> bool:
    """Whether an assignment row on the project, an ancestor or its domain applies to it."""
    _, kind, target_id, inherited = row
    if target_id == project.id:
        return kind.endswith("Project") and not inherited
    if target_id in parents:
        return kind.endswith("Project") and inherited
    return kind.endswith("Domain") and inherited


async def effective_role_ids(
    session: AsyncSession,
    user_id: str,
    *,
    project: Project | None = None,
    domain_id: str | None = None,
    system: bool = False,
) -> set[str]:
    """Every role `user_id` holds on the scope, implied roles included.

    One query covers direct grants, group grants and grants inherited from the
    project's ancestors and domain; this runs for every token that is resolved.
    """
    columns = (Assignment.role_id, Assignment.type, Assignment.target_id, Assignment.inherited)
    if project is not None:
        parents = {p.id for p in await ancestors(session, project)}
        targets = [project.id, project.domain_id, *parents]
        rows = await session.execute(
            select(*columns).where(_actor_is(user_id), Assignment.target_id.in_(targets))
        )
        roles = {row[0] for row in rows if _grants_role(tuple(row), project, parents)}
    elif domain_id is not None or system:
        kind, target = ("Domain", domain_id) if domain_id is not None else ("System", SYSTEM)
        rows = await session.scalars(
            select(Assignment.role_id).where(
                _actor_is(user_id),
                Assignment.target_id == target,
                Assignment.type.in_([f"User{kind}", f"Group{kind}"]),
                Assignment.inherited.is_(False),
            )
        )
        roles = set(rows.all())
    else:
        return set()
    return await implied_closure(session, roles) if roles else set()


async def roles_by_id(session: AsyncSession, role_ids: set[str]) -> list[Role]:
    if not role_ids:
        return []
    rows = await session.scalars(select(Role).where(Role.id.in_(role_ids)).order_by(Role.name))
    return list(rows.all())


async def projects_of_user(session: AsyncSession, user_id: str) -> list[Project]:
    """Projects where the user holds any role, directly, by group or by inheritance."""
    actors = [user_id, *await group_ids(session, user_id)]
    held = select(Assignment.target_id, Assignment.inherited, Assignment.type).where(
        Assignment.actor_id.in_(actors),
        or_(Assignment.type.like("%Project"), Assignment.inherited.is_(True)),
    )
    direct: set[str] = set()
    inherited_from: set[str] = set()
    for target_id, inherited, kind in await session.execute(held):
        if kind.endswith("Project") and not inherited:
            direct.add(target_id)
        elif inherited:
            inherited_from.add(target_id)
    query = or_(Project.id.in_(direct), Project.domain_id.in_(inherited_from))
    found = {p.id: p for p in (await session.scalars(select(Project).where(query))).all()}
    # An inherited grant on a project reaches its whole subtree, one level per query.
    expanded: set[str] = set()
    frontier = set(inherited_from)
    while frontier:
        expanded |= frontier
        children = (
            await session.scalars(
                select(Project).where(~Project.is_domain, Project.parent_id.in_(frontier))
            )
        ).all()
        found.update({child.id: child for child in children})
        frontier = {child.id for child in children} - expanded
    found = {pid: p for pid, p in found.items() if not p.is_domain}
    return sorted(found.values(), key=lambda p: p.name)


async def domains_of_user(session: AsyncSession, user_id: str) -> list[Project]:
    actors = [user_id, *await group_ids(session, user_id)]
    ids = select(Assignment.target_id).where(
        Assignment.actor_id.in_(actors),
        Assignment.type.in_(["UserDomain", "GroupDomain"]),
        Assignment.inherited.is_(False),
    )
    rows = await session.scalars(select(Project).where(Project.is_domain, Project.id.in_(ids)))
    return sorted(rows.all(), key=lambda p: p.name)
