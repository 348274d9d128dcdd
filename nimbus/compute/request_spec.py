"""What a boot asked for, kept with the instance for scheduling, rescheduling,
resize and rebuild (Nova's RequestSpec), as a plain JSON document."""

from __future__ import annotations

from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.compute import RequestSpec


class GroupSpec(TypedDict):
    uuid: str
    policy: str
    rules: dict[str, Any]


class Spec(TypedDict, total=False):
    """The document stored in ``request_spec.spec``."""

    project_id: str
    user_id: str
    flavor: dict[str, Any]
    #: id, disk_format, min_ram, min_disk and properties of the image booted from
    image: dict[str, Any]
    #: the zone asked for (None: any), and a host forced by an admin ("az:host")
    availability_zone: str | None
    force_host: str | None
    scheduler_hints: dict[str, Any]
    group: GroupSpec | None
    num_instances: int


def row(instance_uuid: str, spec: Spec) -> dict[str, Any]:
    """The ``request_spec`` row of an instance."""
    return {"instance_uuid": instance_uuid, "spec": dict(spec)}


async def load(session: AsyncSession, instance_uuid: str) -> Spec:
    row = await session.get(RequestSpec, instance_uuid)
    return Spec(**(row.spec if row is not None else {}))  # type: ignore[typeddict-item]


def hint_list(spec: Spec, name: str) -> list[str]:
    """A scheduler hint that may be one string or a list, as a list."""
    value = (spec.get("scheduler_hints") or {}).get(name)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
