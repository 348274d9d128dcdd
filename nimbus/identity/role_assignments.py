"""The role assignment listing (GET /v3/role_assignments): direct or effective.

Direct mode lists the grants as stored. Effective mode answers "who really holds
what, where", the roles a token would carry: group grants become one entry per member,
inherited grants one entry per project below their target, and implied roles are
added, each entry remembering where it came from (Keystone shows that in its links).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.lookup import all_rows
from nimbus.db.models.identity import GLOBAL_ROLE, Assignment, Group, Project, Role, User
from nimbus.identity import projects
from nimbus.identity.assignments import SYSTEM, group_ids
from nimbus.identity.groups import member_ids
from nimbus.identity.roles import inference_rules

ACTORS = ("User", "Group")


@dataclass(frozen=True)
class Query:
    """The listing's filters, as the API's query parameters name them."""

    role_id: str | None = None
    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    #: True: only inherited grants; False: only direct ones; None: both.
    inherited: bool | None = None
    effective: bool = False
    include_subtree: bool = False


@dataclass(frozen=True)
class Entry:
    """One listed assignment and, in effective mode, how it was derived."""

    role_id: str
    actor: str  # "user" | "group"
    actor_id: str
    target: str  # "project" | "domain" | "system"
    target_id: str
    #: A grant stored as inherited to the projects below its target.
    inherited: bool = False
    #: Effective mode: the group whose grant this member entry expands.
    via_group: str | None = None
    #: Effective mode: ("project" | "domain", id) of the inherited grant behind this entry.
    inherited_from: tuple[str, str] | None = None
    #: Effective mode: the role that implies this one.
    prior_role_id: str | None = None

    @property
    def shows_inherited(self) -> bool:
        return self.inherited or self.inherited_from is not None


def _entry(row: Assignment) -> Entry:
    actor = "user" if row.type.startswith("User") else "group"
    return Entry(
        role_id=row.role_id,
        actor=actor,
        actor_id=row.actor_id,
        target=row.type[len(actor) :].lower(),
        target_id=row.target_id,
        inherited=row.inherited,
    )


async def _select(
    session: AsyncSession,
    targets: tuple[str, ...],
    *,
    actors: tuple[str, ...] = ACTORS,
    actor_ids: list[str] | None = None,
    target_ids: list[str] | None = None,
    role_id: str | None = None,
    inherited: bool | None = None,
) -> list[Assignment]:
    """Stored grants of the given kinds (targets: "Project", "Domain", "System")."""
    query = select(Assignment).where(Assignment.type.in_([a + t for a in actors for t in targets]))
    if actor_ids is not None:
        query = query.where(Assignment.actor_id.in_(actor_ids))
    if target_ids is not None:
        query = query.where(Assignment.target_id.in_(target_ids))
    if role_id is not None:
        query = query.where(Assignment.role_id == role_id)
    if inherited is not None:
        query = query.where(Assignment.inherited == inherited)
    return await all_rows(session, query.order_by(Assignment.type, Assignment.target_id))


def _target_filter(query: Query, project_ids: list[str] | None) -> tuple[tuple[str, ...], Any]:
    """The target kinds and ids the scope filters allow (ids None: any)."""
    if query.system:
        return ("System",), [SYSTEM]
    if project_ids is not None:
        return ("Project",), project_ids
    if query.domain_id:
        return ("Domain",), [query.domain_id]
    return ("Project", "Domain", "System"), None


async def _direct(
    session: AsyncSession, query: Query, project_ids: list[str] | None
) -> list[Entry]:
    targets, target_ids = _target_filter(query, project_ids)
    actors, actor_ids = ACTORS, None
    if query.user_id or query.group_id:
        actors = ("User",) if query.user_id else ("Group",)
        actor_ids = [query.user_id or query.group_id or ""]
    rows = await _select(
        session,
        targets,
        actors=actors,
        actor_ids=actor_ids,
        target_ids=target_ids,
        role_id=query.role_id,
        inherited=query.inherited,
    )
    return [_entry(row) for row in rows]


@dataclass
class _Expander:
    """Turns stored grants into the user-level entries a token would reflect."""

    session: AsyncSession
    query: Query
    project_ids: list[str] | None
    _members: dict[str, list[str]] = field(default_factory=dict)

    async def holders(self, entry: Entry) -> list[tuple[str, str | None]]:
        """(user id, group id it comes through) for each user the entry's grant reaches."""
        if entry.actor == "user":
            return [(entry.actor_id, None)]
        if self.query.user_id:
            return [(self.query.user_id, entry.actor_id)]
        if entry.actor_id not in self._members:
            self._members[entry.actor_id] = await member_ids(self.session, entry.actor_id)
        return [(user_id, entry.actor_id) for user_id in self._members[entry.actor_id]]

    async def reached_projects(self, entry: Entry) -> list[str]:
        """The projects an inherited grant applies to, within the query's projects if any."""
        if self.project_ids is not None:
            if entry.target == "project" and entry.target_id in self.project_ids:
                # A grant inside the queried subtree reaches only the part below it.
                return await projects.subtree_ids(self.session, entry.target_id)
            return self.project_ids
        if entry.target == "domain":
            return await projects.ids_in_domain(self.session, entry.target_id)
        return await projects.subtree_ids(self.session, entry.target_id)

    async def expand(self, entry: Entry) -> list[Entry]:
        holders = await self.holders(entry)
        if not entry.inherited:
            return [
                replace(entry, actor="user", actor_id=user_id, via_group=group_id)
                for user_id, group_id in holders
            ]
        source = (entry.target, entry.target_id)
        return [
            replace(
                entry,
                actor="user",
                actor_id=user_id,
                via_group=group_id,
                target="project",
                target_id=project_id,
                inherited=False,
                inherited_from=source,
            )
            for user_id, group_id in holders
            for project_id in await self.reached_projects(entry)
        ]


async def _effective_grants(
    session: AsyncSession, query: Query, project_ids: list[str] | None
) -> list[Entry]:
    """The stored grants that can contribute to the effective listing."""
    actor_ids = [query.user_id, *await group_ids(session, query.user_id)] if query.user_id else None
    targets, target_ids = _target_filter(query, project_ids)
    if not query.system:
        # As upstream, effective listings leave system grants out unless asked for.
        targets = tuple(t for t in targets if t != "System")
    rows: list[Assignment] = []
    if query.inherited is not True:
        rows += await _select(
            session, targets, actor_ids=actor_ids, target_ids=target_ids, inherited=False
        )
    if query.inherited is not False and not (query.domain_id or query.system):
        if project_ids is None:
            rows += await _select(
                session, ("Project", "Domain"), actor_ids=actor_ids, inherited=True
            )
        else:
            # Inherited grants reaching the queried projects sit on their domain, on
            # the ancestors of the queried project or (with a subtree) inside it.
            project = await projects.get_project(session, project_ids[0])
            parents = [p.id for p in await projects.ancestors(session, project)]
            rows += await _select(
                session,
                ("Domain",),
                actor_ids=actor_ids,
                target_ids=[project.domain_id],
                inherited=True,
            )
            rows += await _select(
                session,
                ("Project",),
                actor_ids=actor_ids,
                target_ids=parents + project_ids[1:],
                inherited=True,
            )
    return [_entry(row) for row in rows]


async def _with_implied(session: AsyncSession, entries: list[Entry]) -> list[Entry]:
    """Each entry plus one for every role its role implies, transitively."""
    rules = await inference_rules(session)
    result = list(entries)
    seen = set(entries)
    pending = list(entries)
    while pending:
        entry = pending.pop()
        for implied in rules.get(entry.role_id, []):
            derived = replace(entry, role_id=implied, prior_role_id=entry.role_id)
            if derived not in seen:
                seen.add(derived)
                result.append(derived)
                pending.append(derived)
    return result


async def _effective(
    session: AsyncSession, query: Query, project_ids: list[str] | None
) -> list[Entry]:
    expander = _Expander(session, query, project_ids)
    entries: list[Entry] = []
    for grant in await _effective_grants(session, query, project_ids):
        entries += await expander.expand(grant)
    entries = await _with_implied(session, entries)
    # Domain-specific roles only serve to imply global ones; tokens never carry them.
    role_ids = {e.role_id for e in entries}
    global_roles = set(
        await all_rows(
            session, select(Role.id).where(Role.id.in_(role_ids), Role.domain_id == GLOBAL_ROLE)
        )
    )
    return [
        e
        for e in entries
        if e.role_id in global_roles and (query.role_id is None or e.role_id == query.role_id)
    ]


async def list_assignments(session: AsyncSession, query: Query) -> list[Entry]:
    """The assignments matching `query`, direct or effective.

    The API layer has already refused the contradictory filter combinations.
    """
    project_ids = None
    if query.project_id:
        project_ids = [query.project_id]
        if query.include_subtree:
            project_ids += await projects.subtree_ids(session, query.project_id)
    if query.effective:
        return await _effective(session, query, project_ids)
    return await _direct(session, query, project_ids)


async def within_domain(session: AsyncSession, entries: list[Entry], domain_id: str) -> list[Entry]:
    """The entries on `domain_id` or on its projects (what a domain-scoped caller sees)."""
    project_ids = {e.target_id for e in entries if e.target == "project"}
    mine = set(
        await all_rows(
            session,
            select(Project.id).where(Project.id.in_(project_ids), Project.domain_id == domain_id),
        )
    )
    return [
        e
        for e in entries
        if (e.target == "domain" and e.target_id == domain_id)
        or (e.target == "project" and e.target_id in mine)
    ]


@dataclass(frozen=True)
class Names:
    """Names of everything a listing mentions, for ?include_names."""

    users: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    projects: dict[str, dict[str, Any]]
    domains: dict[str, dict[str, Any]]
    roles: dict[str, dict[str, Any]]


def _named(ident: str, name: str, domain: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": ident, "name": name}
    if domain is not None:
        body["domain"] = domain
    return body


async def names_of(session: AsyncSession, entries: list[Entry]) -> Names:
    """Look every user, group, project, domain and role of `entries` up once."""

    def ids(kind: str) -> set[str]:
        return {e.actor_id for e in entries if e.actor == kind} | {
            e.target_id for e in entries if e.target == kind
        }

    users = await all_rows(session, select(User).where(User.id.in_(ids("user"))))
    groups = await all_rows(session, select(Group).where(Group.id.in_(ids("group"))))
    scoped = await all_rows(session, select(Project).where(Project.id.in_(ids("project"))))
    roles = await all_rows(session, select(Role).where(Role.id.in_({e.role_id for e in entries})))
    domain_ids = ids("domain") | {row.domain_id for row in [*users, *groups, *scoped, *roles]}
    domains = {
        d.id: {"id": d.id, "name": d.name}
        for d in await all_rows(session, select(Project).where(Project.id.in_(domain_ids)))
    }

    def owned(rows: list[Any]) -> dict[str, dict[str, Any]]:
        return {
            row.id: _named(row.id, row.name, domains.get(row.domain_id, {"id": "", "name": ""}))
            for row in rows
        }

    return Names(
        users=owned(users),
        groups=owned(groups),
        projects=owned(scoped),
        domains=domains,
        roles={r.id: _named(r.id, r.name, domains.get(r.domain_id)) for r in roles},
    )
