"""Compute quotas: limits per project (and per user), usage counted from the rows
themselves, and the check every create runs before it writes.

Usage is never stored or cached: instances, cores and RAM are summed over the live
rows of the ``instance`` table, key pairs counted per user, server groups per project
and members per group, so that a failed build, a crash or a concurrent delete cannot
leave a counter out of step (Nova's "counting quotas", its default since Pike). Two
concurrent creates could both pass a check against the same usage: a server create
checks and writes in one transaction that holds the project's row
(`lock_project_in`), and counts again once its rows are committed (Nova's
``recheck_quota``), taking them back if the limit no longer holds
(`recheck_instances_in`: a create that did not take the lock, or an admin who
lowered the limit meanwhile).

The checks are synchronous Core code on a connection (`check_in`…), so that a boot
runs them in the one transaction that writes its rows (nimbus.placement.work); the
async forms run the same code inside a session's transaction.

Limits resolve, most specific first: a user's own row in ``quota`` (for the resources
Nova lets a user have: everything but server groups' members), the project's row
(user_id ""), the ``default`` quota class, then Nova's configured defaults below.
-1 means unlimited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, bindparam, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.cell import Instance
from nimbus.db.models.compute import KeyPair, Quota, QuotaClass, ServerGroup, ServerGroupMember
from nimbus.db.models.identity import Project
from nimbus.errors import BadRequest, Forbidden
from nimbus.placement import work

UNLIMITED = -1
DEFAULT_CLASS = "default"

#: Nova's quota resources and default limits (nova/conf/quota.py).
DEFAULTS: Mapping[str, int] = {
    "instances": 10,
    "cores": 20,
    "ram": 50 * 1024,
    "metadata_items": 128,
    "injected_files": 5,
    "injected_file_content_bytes": 10 * 1024,
    "injected_file_path_bytes": 255,
    "key_pairs": 100,
    "server_groups": 10,
    "server_group_members": 10,
}
#: nova-network's quotas: still shown (as unlimited, or as set) before 2.36, never
#: enforced; kept so that old clients get the fields they expect.
LEGACY: Mapping[str, int] = {
    "fixed_ips": UNLIMITED,
    "floating_ips": UNLIMITED,
    "security_groups": UNLIMITED,
    "security_group_rules": UNLIMITED,
}
#: Every resource a quota set or class can show or set.
RESOURCES = (*DEFAULTS, *LEGACY)
#: Resources whose usage is counted from rows (the others are checked per request).
COUNTED = ("instances", "cores", "ram", "key_pairs", "server_groups")
#: What one instance consumes, for the message of an exceeded instance quota.
INSTANCE_RESOURCES = ("instances", "cores", "ram")


class OverQuota(Forbidden):
    """A create would exceed a limit: 403 as Nova answers it (its OverQuota is a 413
    internally, but every API that can exceed a quota turns it into a 403)."""

    def __init__(self, message: str, overs: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.overs = overs


@dataclass(frozen=True)
class Limits:
    """The limits that apply to a project, or to one user in it (``user`` holds the
    resources the user has a limit of their own for)."""

    project: Mapping[str, int]
    user: Mapping[str, int]

    def effective(self) -> dict[str, int]:
        """What applies to the user: their own limit where set, the project's otherwise."""
        return {**self.project, **self.user}


Found = TypeVar("Found")


async def _in(session: AsyncSession, check: Callable[[Connection], Found]) -> Found:
    """`check` in the session's transaction, after its pending rows are written."""
    await session.flush()
    return await work.in_session(session, check)


# Statements of every boot's checks, built once (their parameters vary, not their shape).
_CLASS_ROWS = select(QuotaClass.resource, QuotaClass.hard_limit).where(
    QuotaClass.class_name == bindparam("class_name")
)
_QUOTA_ROWS = select(Quota.user_id, Quota.resource, Quota.hard_limit).where(
    Quota.project_id == bindparam("project_id"),
    Quota.user_id.in_(bindparam("owners", expanding=True)),
)
_INSTANCE_USAGE = select(
    func.count(Instance.id), func.sum(Instance.vcpus), func.sum(Instance.memory_mb)
).where(
    Instance.project_id == bindparam("project_id"),
    Instance.deleted == 0,
    or_(Instance.vm_state.is_(None), Instance.vm_state != "soft-delete"),
    or_(Instance.hidden.is_(None), Instance.hidden.is_(False)),
)
_USER_INSTANCE_USAGE = _INSTANCE_USAGE.where(Instance.user_id == bindparam("user_id"))


async def class_limits(session: AsyncSession, class_name: str = DEFAULT_CLASS) -> dict[str, int]:
    """A quota class's limits over Nova's defaults (the ``default`` class is what
    ``os-quota-sets/{id}/defaults`` shows)."""
    rows = await session.execute(_CLASS_ROWS, {"class_name": class_name})
    return {**DEFAULTS, **LEGACY, **{r: v for r, v in rows if r in RESOURCES}}


def limits_in(connection: Connection, project_id: str, user_id: str | None = None) -> Limits:
    """The limits of `project_id`, and of `user_id` in it when given (two queries)."""
    project = {**DEFAULTS, **LEGACY}
    classes = connection.execute(_CLASS_ROWS, {"class_name": DEFAULT_CLASS})
    project.update((resource, limit) for resource, limit in classes)
    owners = ["", user_id] if user_id else [""]
    rows = connection.execute(_QUOTA_ROWS, {"project_id": project_id, "owners": owners})
    user: dict[str, int] = {}
    for owner, resource, limit in rows:
        if resource in RESOURCES:
            (user if owner else project)[resource] = limit
    project = {r: v for r, v in project.items() if r in RESOURCES}
    return Limits(project=project, user=user)


async def limits(session: AsyncSession, project_id: str, user_id: str | None = None) -> Limits:
    """The limits of `project_id`, and of `user_id` in it when given."""
    return await _in(session, lambda connection: limits_in(connection, project_id, user_id))


def instance_usage_in(
    connection: Connection, project_id: str, user_id: str | None
) -> dict[str, int]:
    """Live instances of a project (or one user in it) and their vCPUs and RAM; soft
    deleted and hidden copies (a cross-cell resize's) do not count, as upstream."""
    if user_id:
        params = {"project_id": project_id, "user_id": user_id}
        count, cores, ram = connection.execute(_USER_INSTANCE_USAGE, params).one()
    else:
        count, cores, ram = connection.execute(_INSTANCE_USAGE, {"project_id": project_id}).one()
    return {"instances": int(count or 0), "cores": int(cores or 0), "ram": int(ram or 0)}


def _count(connection: Connection, query: object) -> int:
    return int(connection.execute(query).scalar_one() or 0)  # type: ignore[call-overload]


def usage_in(connection: Connection, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """What `project_id` (or `user_id` within it) uses now, counted from the rows:
    instances, cores, ram, server_groups, and key_pairs (always a user's own: key pairs
    belong to users, not projects; zero when no user is given)."""
    used = instance_usage_in(connection, project_id, user_id)
    groups = select(func.count(ServerGroup.id)).where(ServerGroup.project_id == project_id)
    if user_id:
        groups = groups.where(ServerGroup.user_id == user_id)
    used["server_groups"] = _count(connection, groups)
    used["key_pairs"] = _key_pairs(connection, user_id) if user_id else 0
    return used


async def usage(
    session: AsyncSession, project_id: str, user_id: str | None = None
) -> dict[str, int]:
    """`usage_in` in the session's transaction."""
    return await _in(session, lambda connection: usage_in(connection, project_id, user_id))


def _key_pairs(connection: Connection, user_id: str) -> int:
    return _count(connection, select(func.count(KeyPair.id)).where(KeyPair.user_id == user_id))


def group_members_in(connection: Connection, group_uuid: str) -> int:
    """How many servers server group `group_uuid` holds."""
    query = (
        select(func.count(ServerGroupMember.instance_uuid))
        .join(ServerGroup, ServerGroup.id == ServerGroupMember.group_id)
        .where(ServerGroup.uuid == group_uuid)
    )
    return _count(connection, query)


def _exceeded(limit: int, used: int, delta: int) -> bool:
    return delta > 0 and limit != UNLIMITED and used + delta > limit


def _instances_message(
    overs: list[str],
    requested: Mapping[str, int | str],
    used: Mapping[str, int],
    allowed: Mapping[str, int],
) -> str:
    """Nova's TooManyInstances wording, several resources joined by ", "."""

    def joined(values: Mapping[str, object]) -> str:
        return ", ".join(str(values[r]) for r in overs)

    overs = sorted(overs)  # upstream names them in alphabetical order
    names = ", ".join(overs)
    return (
        f"Quota exceeded for {names}: Requested {joined(requested)}, but already used "
        f"{joined(used)} of {joined(allowed)} {names}"
    )


_SINGLE_MESSAGES = {
    "key_pairs": "Quota exceeded, too many key pairs.",
    "server_groups": "Quota exceeded, too many server groups.",
    "server_group_members": "Quota exceeded, too many servers in group",
}


def check_in(
    connection: Connection,
    project_id: str,
    user_id: str,
    *,
    server_group: str | None = None,
    requested: Mapping[str, int | str] | None = None,
    **deltas: int,
) -> None:
    """Refuse (OverQuota, a 403) a change that would take a resource over its limit.

    Contract for callers (server create and resize, key pair and server group create):
    - ``deltas`` are the amounts about to be added: ``instances=2, cores=4, ram=1024``
      for a boot of two 2-vCPU/512-MB servers; a resize passes the growth only
      (``cores=new-old``; zero or negative deltas never fail).
    - ``key_pairs=1`` and ``server_groups=1`` check the caller's own key pairs and the
      project's groups; ``server_group_members=n`` needs ``server_group`` (its uuid).
    - ``metadata_items=n`` checks a count against the limit alone (nothing to count).
    - ``requested`` only words the message (Nova shows "2-4" for a min/max boot).
    - Call it in the transaction that then writes the rows; usage is counted now, from
      the rows, and both the project's and (where set) the user's own limits apply.

    Messages are Nova's: "Quota exceeded for cores: Requested 4, but already used 20 of
    20 cores" for instances/cores/ram; "Quota exceeded, too many key pairs." and the
    like for the others; "Maximum number of metadata items exceeds 128".
    """
    unknown = set(deltas) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown quota resources: {sorted(unknown)}")
    applying = limits_in(connection, project_id, user_id)
    project_limits, effective = applying.project, applying.effective()
    if "metadata_items" in deltas and _exceeded(
        effective["metadata_items"], 0, deltas["metadata_items"]
    ):
        raise OverQuota(
            f"Maximum number of metadata items exceeds {effective['metadata_items']}",
            ("metadata_items",),
        )
    if "server_group_members" in deltas:
        if server_group is None:
            raise ValueError("server_group_members needs the server_group")
        members = group_members_in(connection, server_group)
        if _exceeded(effective["server_group_members"], members, deltas["server_group_members"]):
            raise OverQuota(_SINGLE_MESSAGES["server_group_members"], ("server_group_members",))
    counted = [r for r in COUNTED if deltas.get(r, 0) > 0]
    if not counted:
        return
    used = usage_in(connection, project_id)
    if "key_pairs" in counted:
        used["key_pairs"] = _key_pairs(connection, user_id)
    overs = [r for r in counted if _exceeded(project_limits[r], used[r], deltas[r])]
    allowed = dict(project_limits)
    if not overs and any(r in applying.user for r in counted):
        user_used = usage_in(connection, project_id, user_id)
        overs = [r for r in counted if _exceeded(effective[r], user_used[r], deltas[r])]
        used, allowed = user_used, effective
    if not overs:
        return
    single = next((r for r in overs if r in _SINGLE_MESSAGES), None)
    if single:
        raise OverQuota(_SINGLE_MESSAGES[single], tuple(overs))
    shown = {**deltas, **(requested or {})}
    raise OverQuota(_instances_message(overs, shown, used, allowed), tuple(overs))


async def check(
    session: AsyncSession,
    project_id: str,
    user_id: str,
    *,
    server_group: str | None = None,
    requested: Mapping[str, int | str] | None = None,
    **deltas: int,
) -> None:
    """`check_in` in the session's transaction."""

    def checking(connection: Connection) -> None:
        check_in(
            connection,
            project_id,
            user_id,
            server_group=server_group,
            requested=requested,
            **deltas,
        )

    await _in(session, checking)


def lock_project_in(connection: Connection, project_id: str) -> None:
    """Hold the project's row until the transaction ends, so that the quota checks and
    writes of one project's concurrent creates take turns on PostgreSQL and MariaDB
    (each counts what the one before it committed). SQLite needs no lock: its writers
    take turns anyway, on the one-writer path from their first read."""
    if connection.dialect.name != "sqlite":
        connection.execute(select(Project.id).where(Project.id == project_id).with_for_update())


def _instance_usage_of(
    connection: Connection, applying: Limits, project_id: str, user_id: str
) -> dict[str, int]:
    """The usage instance limits compare with: the user's when the user has a limit
    of their own for instances, cores or RAM, the project's otherwise."""
    own = any(r in applying.user for r in INSTANCE_RESOURCES)
    return instance_usage_in(connection, project_id, user_id if own else None)


def _fitting(
    effective: Mapping[str, int],
    used: Mapping[str, int],
    vcpus: int,
    memory_mb: int,
    min_count: int,
    max_count: int,
) -> int:
    """How many of `min_count`..`max_count` servers fit over `used`, or OverQuota."""
    fits = max_count
    for resource, each in (("instances", 1), ("cores", vcpus), ("ram", memory_mb)):
        limit = effective[resource]
        if limit != UNLIMITED and each > 0:
            fits = min(fits, max(limit - used[resource], 0) // each)
    if fits >= min_count:
        return fits
    count = str(min_count) if min_count == max_count else f"{min_count}-{max_count}"
    deltas = {"instances": max_count, "cores": max_count * vcpus, "ram": max_count * memory_mb}
    overs = [r for r in INSTANCE_RESOURCES if _exceeded(effective[r], used[r], deltas[r])]
    requested = {**deltas, "instances": count}
    raise OverQuota(_instances_message(overs, requested, used, effective), tuple(overs))


def check_instances_in(
    connection: Connection,
    project_id: str,
    user_id: str,
    *,
    vcpus: int,
    memory_mb: int,
    min_count: int = 1,
    max_count: int = 1,
) -> tuple[int, bool]:
    """How many of a boot of `min_count`..`max_count` servers of this size fit, as
    Nova's check_num_instances_quota decides: `max_count` if all fit, else as many as
    the headroom allows if that is at least `min_count`; otherwise OverQuota with the
    requested amounts of the whole boot ("2-4" instances) in the message.

    Also whether any of instances, cores and RAM is limited at all: if none is, there
    is nothing for `recheck_instances_in` to recheck."""
    applying = limits_in(connection, project_id, user_id)
    effective = applying.effective()
    limited = any(effective[r] != UNLIMITED for r in INSTANCE_RESOURCES)
    if not limited:
        return max_count, False
    used = _instance_usage_of(connection, applying, project_id, user_id)
    return _fitting(effective, used, vcpus, memory_mb, min_count, max_count), True


def recheck_instances_in(
    connection: Connection,
    project_id: str,
    user_id: str,
    *,
    count: int,
    vcpus: int,
    memory_mb: int,
) -> None:
    """Once a boot's `count` servers are committed, refuse them (OverQuota) if the
    usage, theirs included, is over a limit now: a concurrent boot passed its check
    against the same usage (Nova's recheck_quota). The message is the check's, the
    `count` servers against what the others use."""
    applying = limits_in(connection, project_id, user_id)
    used = _instance_usage_of(connection, applying, project_id, user_id)
    others = {
        "instances": used["instances"] - count,
        "cores": used["cores"] - count * vcpus,
        "ram": used["ram"] - count * memory_mb,
    }
    _fitting(applying.effective(), others, vcpus, memory_mb, count, count)


# --- administration (os-quota-sets, os-quota-class-sets) -------------------------------


async def in_use(
    session: AsyncSession, project_id: str, user_id: str | None = None
) -> dict[str, int]:
    """Usage as the quota-set detail shows it: counted resources, and 0 for the rest
    (key pairs and group members too: they are per user or per group, and upstream
    shows 0 for them in a quota set)."""
    used = await usage(session, project_id, user_id)
    shown = {resource: 0 for resource in RESOURCES}
    shown.update({r: used[r] for r in ("instances", "cores", "ram", "server_groups")})
    return shown


async def _user_limit_sums(
    session: AsyncSession, project_id: str, except_user: str | None = None
) -> dict[str, int]:
    """Per resource, the sum of the project's users' own limits (-1 counts as 0)."""
    query = select(Quota.resource, Quota.hard_limit).where(
        Quota.project_id == project_id, Quota.user_id != ""
    )
    if except_user is not None:
        query = query.where(Quota.user_id != except_user)
    sums: dict[str, int] = {}
    for resource, limit in await session.execute(query):
        sums[resource] = sums.get(resource, 0) + max(limit, 0)
    return sums


async def settable(
    session: AsyncSession, project_id: str, user_id: str | None = None
) -> dict[str, tuple[int, int]]:
    """(minimum, maximum) of each limit an update may set, as Nova's
    get_settable_quotas: a project's limit may not drop below its usage nor below
    what its users were given; a user's may not drop below the user's usage nor
    exceed what the project has left for them. -1 as maximum means no bound."""
    project = (await limits(session, project_id)).project
    if user_id is None:
        used = await in_use(session, project_id)
        given = await _user_limit_sums(session, project_id)
        return {r: (max(used[r], given.get(r, 0)), UNLIMITED) for r in RESOURCES}
    used = await in_use(session, project_id, user_id)
    others = await _user_limit_sums(session, project_id, except_user=user_id)
    bounds = {}
    for resource in RESOURCES:
        limit = project[resource]
        maximum = UNLIMITED if limit == UNLIMITED else max(limit - others.get(resource, 0), 0)
        bounds[resource] = (used[resource], maximum)
    return bounds


def check_settable(resource: str, limit: int, minimum: int, maximum: int) -> None:
    """Refuse (400) a limit outside [minimum, maximum], -1 being infinity."""

    def infinite(value: int) -> float:
        return float("inf") if value == UNLIMITED else value

    if infinite(limit) < infinite(minimum):
        raise BadRequest(
            f"Quota limit {limit} for {resource} must be greater than or equal to already "
            f"used and reserved {minimum}."
        )
    if infinite(limit) > infinite(maximum):
        raise BadRequest(
            f"Quota limit {limit} for {resource} must be less than or equal to {maximum}."
        )


async def set_limits(
    session: AsyncSession,
    project_id: str,
    values: Mapping[str, int],
    *,
    user_id: str | None = None,
    force: bool = False,
) -> None:
    """Set a project's (or one of its users') limits; each is checked against
    `settable` first unless `force`, and nothing is written if any fails."""
    if not force:
        bounds = await settable(session, project_id, user_id)
        for resource, limit in values.items():
            check_settable(resource, limit, *bounds[resource])
    for resource, limit in values.items():
        key = (project_id, user_id or "", resource)
        row = await session.get(Quota, key)
        if row is None:
            session.add(
                Quota(
                    project_id=project_id,
                    user_id=user_id or "",
                    resource=resource,
                    hard_limit=limit,
                )
            )
        else:
            row.hard_limit = limit
    await session.flush()


async def delete_limits(session: AsyncSession, project_id: str, user_id: str | None = None) -> None:
    """Forget a project's own limits (its users' too) or one user's: defaults apply."""
    query = delete(Quota).where(Quota.project_id == project_id)
    if user_id is not None:
        query = query.where(Quota.user_id == user_id)
    await session.execute(query)


async def set_class_limits(
    session: AsyncSession, class_name: str, values: Mapping[str, int]
) -> None:
    for resource, limit in values.items():
        row = await session.get(QuotaClass, (class_name, resource))
        if row is None:
            session.add(QuotaClass(class_name=class_name, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    await session.flush()
