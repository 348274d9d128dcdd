"""Domains and projects: Keystone's resource tree.

Domains are projects with `is_domain` set; their own `domain_id` is ROOT_DOMAIN.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.lookup import all_rows, flush_unique, where_equal
from nimbus.db.models.identity import (
    ROOT_DOMAIN,
    Assignment,
    Group,
    Project,
    ProjectTag,
    Role,
    User,
)
from nimbus.errors import BadRequest, Forbidden, NotFound

DEFAULT_DOMAIN_ID = "default"
#: Keystone's limit on the tags of one project.
MAX_TAGS = 80


async def get_domain(session: AsyncSession, domain_id: str) -> Project:
    domain = await session.get(Project, domain_id)
    if domain is None or not domain.is_domain:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return domain


async def find_domain(session: AsyncSession, *, id: str | None, name: str | None) -> Project:
    """A domain named by id or by name, as auth requests and scopes name them."""
    if id:
        return await get_domain(session, id)
    domain = await session.scalar(select(Project).where(Project.is_domain, Project.name == name))
    if domain is None:
        raise NotFound(f"Could not find domain: {name}.")
    return domain


async def get_project(
    session: AsyncSession, project_id: str, *, include_domains: bool = False
) -> Project:
    """A project; with `include_domains`, also a domain seen as a project (is_domain)."""
    project = await session.get(Project, project_id)
    if project is None or (project.is_domain and not include_domains):
        raise NotFound(f"Could not find project: {project_id}.")
    return project


async def find_project(
    session: AsyncSession, *, id: str | None, name: str | None, domain_id: str | None
) -> Project:
    if id:
        return await get_project(session, id)
    project = await session.scalar(
        select(Project).where(
            ~Project.is_domain, Project.name == name, Project.domain_id == domain_id
        )
    )
    if project is None:
        raise NotFound(f"Could not find project: {name}.")
    return project


async def list_projects(
    session: AsyncSession, *, is_domain: bool = False, **filters: Any
) -> list[Project]:
    """Projects, or (with `is_domain`) the domains, as /v3/projects?is_domain lists them."""
    query = where_equal(select(Project).where(Project.is_domain.is_(is_domain)), Project, filters)
    return await all_rows(session, query.order_by(Project.name))


async def list_domains(session: AsyncSession, **filters: Any) -> list[Project]:
    query = where_equal(select(Project).where(Project.is_domain), Project, filters)
    return await all_rows(session, query.order_by(Project.name))


async def create_domain(session: AsyncSession, **fields: Any) -> Project:
    domain = Project(is_domain=True, domain_id=ROOT_DOMAIN, parent_id=None, **fields)
    session.add(domain)
    await save_domain(session, domain)
    return domain


async def save_domain(session: AsyncSession, domain: Project) -> None:
    """Write a new or renamed domain; a name another domain has is a 409."""
    await flush_unique(session, f"Duplicate entry found with name {domain.name}.")


async def domain_of_parent(session: AsyncSession, parent_id: str) -> str | None:
    """The domain a child of `parent_id` belongs to (None when there is no such parent)."""
    parent = await session.get(Project, parent_id)
    if parent is None:
        return None
    return parent.id if parent.is_domain else parent.domain_id


async def create_project(
    session: AsyncSession,
    *,
    name: str,
    domain_id: str | None,
    parent_id: str | None,
    tags: list[str] | None = None,
    **fields: Any,
) -> Project:
    """A project under a domain, optionally under a parent project of the same domain."""
    if parent_id:
        parent_domain = await domain_of_parent(session, parent_id)
        if parent_domain is None:
            raise BadRequest(f"Could not find parent: {parent_id}.")
        if domain_id and domain_id != parent_domain:
            raise BadRequest("The project and its parent must be in the same domain.")
        domain_id = parent_domain
    domain_id = domain_id or DEFAULT_DOMAIN_ID
    await get_domain(session, domain_id)
    project = Project(
        name=name, domain_id=domain_id, parent_id=parent_id or domain_id, is_domain=False, **fields
    )
    session.add(project)
    await flush_unique(
        session,
        f"Conflict occurred attempting to store project - Duplicate entry found with "
        f"name {name} at domain ID {domain_id}.",
    )
    await set_tags(session, project.id, tags or [])
    return project


async def tags_of(session: AsyncSession, project_ids: list[str]) -> dict[str, list[str]]:
    rows = await session.execute(
        select(ProjectTag.project_id, ProjectTag.name)
        .where(ProjectTag.project_id.in_(project_ids))
        .order_by(ProjectTag.name)
    )
    tags: dict[str, list[str]] = {pid: [] for pid in project_ids}
    for project_id, name in rows:
        tags[project_id].append(name)
    return tags


async def set_tags(session: AsyncSession, project_id: str, tags: list[str]) -> None:
    await session.execute(delete(ProjectTag).where(ProjectTag.project_id == project_id))
    for tag in dict.fromkeys(tags):
        session.add(ProjectTag(project_id=project_id, name=tag))
    await session.flush()


async def check_tag(session: AsyncSession, project_id: str, tag: str) -> None:
    if await session.get(ProjectTag, (project_id, tag)) is None:
        raise NotFound(f"Could not find project tag: {tag}.")


async def add_tag(session: AsyncSession, project_id: str, tag: str) -> None:
    """One more tag; as in Keystone a repeated tag or one past the limit is a 400."""
    tags = (await tags_of(session, [project_id]))[project_id]
    if tag in tags:
        raise BadRequest(f"Invalid input for field 'tags': {[*tags, tag]} has non-unique elements.")
    if len(tags) >= MAX_TAGS:
        raise BadRequest(f"Invalid input for field 'tags': a project has at most {MAX_TAGS} tags.")
    session.add(ProjectTag(project_id=project_id, name=tag))
    await session.flush()


async def remove_tag(session: AsyncSession, project_id: str, tag: str) -> None:
    await check_tag(session, project_id, tag)
    await session.execute(
        delete(ProjectTag).where(ProjectTag.project_id == project_id, ProjectTag.name == tag)
    )


async def children_exist(session: AsyncSession, project_id: str) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(Project.parent_id == project_id, ~Project.is_domain))
        )
    )


async def delete_project(session: AsyncSession, project: Project) -> None:
    """Delete a leaf project and every grant on it."""
    if await children_exist(session, project.id):
        raise Forbidden(f"Cannot delete project {project.id}: it has child projects.")
    await session.execute(delete(Assignment).where(Assignment.target_id == project.id))
    await session.delete(project)


async def delete_domain(session: AsyncSession, domain: Project) -> None:
    """Delete a disabled domain with everything it owns, as Keystone does."""
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    projects = await all_rows(session, select(Project.id).where(Project.domain_id == domain.id))
    users = await all_rows(session, select(User.id).where(User.domain_id == domain.id))
    groups = await all_rows(session, select(Group.id).where(Group.domain_id == domain.id))
    owned = [domain.id, *projects, *users, *groups]
    await session.execute(delete(Assignment).where(Assignment.target_id.in_(owned)))
    await session.execute(delete(Assignment).where(Assignment.actor_id.in_(owned)))
    for model in (Project, User, Group, Role):
        await session.execute(
            delete(model)
            .where(model.domain_id == domain.id)
            .execution_options(synchronize_session=False)
        )
    await session.delete(domain)


async def ancestors(session: AsyncSession, project: Project) -> list[Project]:
    """Parents of `project` up to (not including) its domain, nearest first."""
    chain: list[Project] = []
    current = project
    while current.parent_id and current.parent_id != current.domain_id:
        parent = await session.get(Project, current.parent_id)
        if parent is None or parent.is_domain:
            break
        chain.append(parent)
        current = parent
    return chain


async def subtree_ids(session: AsyncSession, project_id: str) -> list[str]:
    """Every project below `project_id` (not itself), nearest first."""
    found: list[str] = []
    frontier = [project_id]
    while frontier:
        frontier = await all_rows(
            session,
            select(Project.id).where(Project.parent_id.in_(frontier), ~Project.is_domain),
        )
        found.extend(frontier)
    return found


async def ids_in_domain(session: AsyncSession, domain_id: str) -> list[str]:
    """The projects of a domain, which inherited domain grants reach."""
    return await all_rows(
        session, select(Project.id).where(Project.domain_id == domain_id, ~Project.is_domain)
    )
