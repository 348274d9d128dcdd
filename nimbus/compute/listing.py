"""Listing servers: Nova's filters, sort keys and marker paging, in SQL.

The API decides which filters a caller may use (some are admin-only) and hands this
module a `ServerQuery`; one query returns the page, and the views load what hangs off
those servers (metadata, tags, faults) in one query each, all in one unit of work
(nimbus.placement.work: one hop to the database's thread on SQLite).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Text,
    and_,
    cast,
    exists,
    or_,
    select,
)

from nimbus.db.models.cell import Instance, InstanceMetadata, Tag
from nimbus.db.models.network import IpAllocation, Port
from nimbus.errors import BadRequest

#: Sort keys Nova accepts (the admin-only ones are refused by the API for others).
SORT_KEYS = {
    "access_ip_v4": Instance.access_ip_v4,
    "access_ip_v6": Instance.access_ip_v6,
    "auto_disk_config": Instance.id,
    "availability_zone": Instance.availability_zone,
    "config_drive": Instance.config_drive,
    "created_at": Instance.created_at,
    "display_description": Instance.display_description,
    "display_name": Instance.display_name,
    "host": Instance.host,
    "hostname": Instance.hostname,
    "image_ref": Instance.image_ref,
    "instance_type_id": Instance.instance_type_id,
    "kernel_id": Instance.id,
    "key_name": Instance.key_name,
    "launch_index": Instance.launch_index,
    "launched_at": Instance.launched_at,
    "locked": Instance.locked,
    "locked_by": Instance.locked_by,
    "node": Instance.node,
    "power_state": Instance.power_state,
    "progress": Instance.progress,
    "project_id": Instance.project_id,
    "ramdisk_id": Instance.id,
    "root_device_name": Instance.root_device_name,
    "task_state": Instance.task_state,
    "terminated_at": Instance.terminated_at,
    "updated_at": Instance.updated_at,
    "user_id": Instance.user_id,
    "uuid": Instance.uuid,
    "vm_state": Instance.vm_state,
}
ADMIN_SORT_KEYS = frozenset({"host", "node"})


@dataclass
class ServerQuery:
    project_id: str | None = None
    user_id: str | None = None
    #: True: deleted only; False: live only; None: both (changes-since).
    deleted: bool | None = False
    name: str | None = None
    vm_states: set[str] | None = None
    task_states: set[str] | None = None
    image: str | None = None
    flavor_id: int | None = None
    host: str | None = None
    node: str | None = None
    reservation_id: str | None = None
    availability_zone: str | None = None
    key_name: str | None = None
    locked: bool | None = None
    uuid: str | None = None
    #: `ip` / `ip6`: parts of a fixed address of the server's ports (see `_has_address`).
    ip: str | None = None
    ip6: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    limit: int = 1000
    marker: str | None = None


def _has_tag(tag: str) -> ColumnElement[bool]:
    return exists().where(Tag.instance_uuid == Instance.uuid, Tag.tag == tag)


def _has_address(parts: list[str]) -> ColumnElement[bool]:
    """The server has a port with a fixed address containing one of `parts`: Nova's
    `ip`/`ip6` filters when Neutron has ip-substring-filtering (ours has), which ask
    for the ports with ``fixed_ips=ip_address_substr=<value>`` — a plain substring,
    either IP version, so 10.0.0.2 also finds 10.0.0.21, and floating addresses are
    not looked at."""
    return exists().where(
        Port.device_id == Instance.uuid,
        IpAllocation.port_id == Port.id,
        or_(*[IpAllocation.ip_address.contains(part, autoescape=True) for part in parts]),
    )


def _filters(query: ServerQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    plain = {
        Instance.project_id: query.project_id,
        Instance.user_id: query.user_id,
        Instance.image_ref: query.image,
        Instance.instance_type_id: query.flavor_id,
        Instance.host: query.host,
        Instance.node: query.node,
        Instance.reservation_id: query.reservation_id,
        Instance.availability_zone: query.availability_zone,
        Instance.key_name: query.key_name,
        Instance.locked: query.locked,
        Instance.uuid: query.uuid,
    }
    conditions += [column == value for column, value in plain.items() if value is not None]
    if query.deleted is True:
        conditions.append(Instance.deleted != 0)
    elif query.deleted is False:
        conditions.append(Instance.deleted == 0)
    if query.vm_states is not None:
        conditions.append(Instance.vm_state.in_(query.vm_states))
    if query.task_states is not None:
        conditions.append(Instance.task_state.in_(query.task_states))
    if query.changes_since is not None:
        conditions.append(Instance.updated_at >= query.changes_since)
    if query.changes_before is not None:
        conditions.append(Instance.updated_at <= query.changes_before)
    conditions += [_has_tag(t) for t in query.tags]
    if query.tags_any:
        conditions.append(or_(*[_has_tag(t) for t in query.tags_any]))
    if query.not_tags:
        conditions.append(~and_(*[_has_tag(t) for t in query.not_tags]))
    conditions += [~_has_tag(t) for t in query.not_tags_any]
    addresses = [part for part in (query.ip, query.ip6) if part is not None]
    if addresses:
        conditions.append(_has_address(addresses))
    return conditions


def _ordered(statement: Select, query: ServerQuery) -> Select:
    order = []
    for key, direction in query.sort:
        column = SORT_KEYS[key]
        order.append(column.desc() if direction == "desc" else column.asc())
    last = query.sort[-1][1] if query.sort else "desc"
    order.append(Instance.id.desc() if last == "desc" else Instance.id.asc())
    return statement.order_by(*order)


def _after_marker(connection: Connection, query: ServerQuery) -> ColumnElement[bool]:
    """Rows strictly after the marker in the sort order (keyset paging)."""
    marker = connection.execute(
        select(*Instance.__table__.columns).where(Instance.uuid == query.marker)
    ).first()
    if marker is None:
        raise BadRequest(f"marker [{query.marker}] not found")
    keys = [*((SORT_KEYS[k], d) for k, d in query.sort)]
    keys.append((Instance.id, query.sort[-1][1] if query.sort else "desc"))
    clauses = []
    for i, (column, direction) in enumerate(keys):
        value = getattr(marker, column.key)
        equal = [c == getattr(marker, c.key) for c, _ in keys[:i]]
        if value is None:
            beyond = column.is_not(None) if direction == "asc" else None
        else:
            beyond = column > value if direction == "asc" else or_(column < value, column.is_(None))
        if beyond is not None:
            clauses.append(and_(*equal, beyond))
    return or_(*clauses) if clauses else Instance.id < 0


def list_in(
    connection: Connection, query: ServerQuery, *, brief: bool = False
) -> list[SimpleNamespace]:
    """The page of servers matching `query` (name is a regular expression, as Nova);
    with `brief`, only their uuids and names.

    Plain objects with the instance's columns as attributes, not ORM objects nor
    rows: a page of a thousand servers is read-only, building mapped instances for
    it cost more than the query, and a row's attribute costs ten times a plain
    object's while a detailed view reads some forty per server (the views read the
    same attribute names from any of them).
    """
    columns = (Instance.uuid, Instance.display_name) if brief else _COLUMNS
    statement = _ordered(select(*columns).where(*_filters(query)), query)
    if query.marker:
        statement = statement.where(_after_marker(connection, query))
    if query.name is None:
        result = connection.execute(statement.limit(query.limit))
        rows = result.all()
    else:
        try:
            pattern = re.compile(query.name)
        except re.error:
            raise BadRequest(f"Invalid regular expression for name: {query.name}") from None
        result = connection.execute(statement)
        rows = [row for row in result.all() if pattern.search(row.display_name)][: query.limit]
    names = list(result.keys())
    return [_server(names, row) for row in rows]


#: The JSON documents of an instance row, read as text and decoded by orjson (several
#: times faster than the json module the column type uses; a page holds thousands).
_DOCUMENTS = ("flavor", "system_metadata")
_COLUMNS = [
    cast(column, Text).label(column.name) if column.name in _DOCUMENTS else column
    for column in Instance.__table__.columns
]


def _server(names: list[str], row: Row[Any]) -> SimpleNamespace:
    """The row as a plain object (filled through its __dict__: a third of the cost of
    SimpleNamespace(**row._mapping))."""
    server = SimpleNamespace()
    server.__dict__.update(zip(names, row, strict=True))
    for name in _DOCUMENTS:
        text = getattr(server, name, None)
        if text is not None:
            setattr(server, name, orjson.loads(text))
    return server


def metadata_in(connection: Connection, uuids: list[str]) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {u: {} for u in uuids}
    if uuids:
        rows = connection.execute(
            select(
                InstanceMetadata.instance_uuid, InstanceMetadata.key, InstanceMetadata.value
            ).where(InstanceMetadata.instance_uuid.in_(uuids))
        )
        for uuid, key, value in rows.all():
            result[uuid][key] = value
    return result


def tags_in(connection: Connection, uuids: list[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {u: [] for u in uuids}
    if uuids:
        rows = connection.execute(
            select(Tag.instance_uuid, Tag.tag).where(Tag.instance_uuid.in_(uuids)).order_by(Tag.tag)
        )
        for uuid, tag in rows.all():
            result[uuid].append(tag)
    return result
