"""Creating servers: everything a boot checks and writes before the conductor takes over.

All checks run before any row is written (the quota checks in the transaction that
then writes the rows), so a refused boot (missing image, flavor or key, over
quota…) creates nothing, and a boot that a concurrent one pushed over quota takes
its rows back before anything else saw them (the recheck). A boot
of ``min_count``..``max_count`` servers creates as many as the quota allows (at least
``min_count``), each with its mapping, request spec, metadata, tags, group membership
and ``create`` action; the caller then casts one ``build_instances`` for them all.
"""

from __future__ import annotations

import re
import secrets
import string
import uuid as uuidlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from nimbus.compute import (
    actions,
    disk_config,
    flavors,
    instances,
    keypairs,
    networking,
    quotas,
    request_spec,
    states,
    zones,
)
from nimbus.compute import server_groups as groups
from nimbus.compute.actions import Caller
from nimbus.compute.request_spec import Spec
from nimbus.db.engine import Database
from nimbus.db.models.cell import Instance, InstanceAction, InstanceMetadata, Tag
from nimbus.db.models.compute import InstanceMapping, RequestSpec, ServerGroupMember
from nimbus.db.models.image import Image
from nimbus.errors import BadRequest, Forbidden, NotFound
from nimbus.image import images, visibility
from nimbus.image.visibility import Viewer as ImageViewer
from nimbus.placement import work

#: Nova's multi_instance_display_name_template.
MULTI_NAME = "{name}-{count}"
_PASSWORD_CHARS = string.ascii_letters + string.digits


@dataclass
class Who:
    """The caller of a boot (or any other server change)."""

    project_id: str
    user_id: str
    request_id: str
    is_admin: bool = False

    def caller(self) -> Caller:
        return Caller(request_id=self.request_id, user_id=self.user_id, project_id=self.project_id)


@dataclass
class BootRequest:
    """A validated POST /servers body, in domain terms."""

    name: str
    flavor_ref: str
    image_ref: str | None = None
    key_name: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    #: "auto", "none", or a list of nimbus.compute.networking.Requested.
    networks: Any = None
    #: Names of the security groups of the server's ports.
    security_groups: list[str] = field(default_factory=lambda: ["default"])
    min_count: int = 1
    max_count: int = 1
    description: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    admin_password: str | None = None
    tags: list[str] = field(default_factory=list)
    hostname: str | None = None
    config_drive: bool = False
    #: OS-DCF:diskConfig (AUTO: True), None to take the image's.
    auto_disk_config: bool | None = None
    #: May the caller force a host ("zone:host") — decided by the API's policy.
    may_force_host: bool = False


@dataclass
class Booted:
    uuids: list[str]
    reservation_id: str
    admin_password: str
    #: The request spec every instance of the boot shares (sent to the conductor).
    spec: dict[str, Any] = field(default_factory=dict)
    #: The servers' disk config (AUTO: True).
    auto_disk_config: bool = False


def generate_password(length: int = 12) -> str:
    """Nova's generate_password: letters and digits, uniformly drawn from one read of
    the system's randomness (bytes past the last whole multiple of the alphabet are
    skipped; a choice per character costs a read each)."""
    size = len(_PASSWORD_CHARS)
    whole = 256 - 256 % size
    chars: list[str] = []
    while len(chars) < length:
        chars += (_PASSWORD_CHARS[b % size] for b in secrets.token_bytes(2 * length) if b < whole)
    return "".join(chars[:length])


def id_from_href(ref: str) -> str:
    """imageRef/flavorRef may be a URL; the id is its last segment (Nova's
    get_id_from_href)."""
    return ref.rstrip("/").rsplit("/", 1)[-1] if "/" in ref else ref


def sanitize_hostname(name: str) -> str:
    """Nova's sanitize_hostname: lower case, spaces and underscores to dashes, only
    letters, digits, dots and dashes, at most 63 characters; "Server-<n>" if empty."""
    hostname = re.sub(r"[ _]", "-", name.lower())
    hostname = re.sub(r"[^\w.-]+", "", hostname, flags=re.ASCII)
    hostname = hostname.strip(".-")[:63].rstrip(".-")
    return hostname


def flavor_in(connection: Connection, ref: str, who: Who) -> dict[str, Any]:
    """The flavor record of `ref` if the caller may use it (400 otherwise)."""
    try:
        return flavors.record_in(
            connection, id_from_href(ref), flavors.Viewer(who.project_id, who.is_admin)
        )
    except NotFound as error:
        raise BadRequest(error.message) from None


async def find_flavor(session: AsyncSession, ref: str, who: Who) -> dict[str, Any]:
    """`flavor_in` in the session's transaction."""
    return await work.in_session(session, lambda connection: flavor_in(connection, ref, who))


def image_in(connection: Connection, image_id: str) -> Image | None:
    """The image with its properties and tags (detached from the session that loaded
    it), or None: the ORM's three queries in one unit of work."""
    with Session(bind=connection) as session:
        return session.get(Image, image_id)


async def usable_image(
    session: AsyncSession,
    image: Image | None,
    image_id: str,
    who: Who,
    not_found: str = "Can not find requested image",
) -> Image:
    """`image` if it exists, the caller may see it and it is active (400 otherwise,
    in Nova's words); only a shared image costs a query (its membership)."""
    viewer = ImageViewer(who.project_id, who.is_admin)
    if image is None or not await visibility.can_see(session, image, viewer):
        raise BadRequest(not_found)
    if image.status != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    return image


async def find_image(
    session: AsyncSession, ref: str, who: Who, not_found: str = "Can not find requested image"
) -> Image:
    """An active image the caller may see (400 otherwise, in Nova's words)."""
    image_id = id_from_href(ref)
    image = await work.in_session(session, lambda connection: image_in(connection, image_id))
    return await usable_image(session, image, image_id, who, not_found)


def check_image_fits(image: Image, flavor: dict[str, Any]) -> None:
    """The flavor is large enough for the image (Nova's _validate_flavor_image)."""
    if image.min_ram and flavor["memory_mb"] < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    root_bytes = flavor["root_gb"] << 30
    if not flavor["root_gb"]:
        return
    size = max(image.virtual_size or 0, image.size or 0)
    if size > root_bytes:
        raise BadRequest(
            f"Flavor's disk is too small for requested image. Flavor disk is {root_bytes} "
            f"bytes, image is {size} bytes."
        )
    if image.min_disk and flavor["root_gb"] < image.min_disk:
        raise BadRequest("Flavor's disk is too small for requested image.")


#: The image's own fields a server keeps beside its properties (`image_<field>`).
_IMAGE_FIELDS = ("disk_format", "container_format", "min_ram", "min_disk")


def image_system_metadata(image: dict[str, Any]) -> dict[str, str]:
    """What a server keeps of its image (an `image_record`) in its system metadata:
    the properties and the image's own fields under the `image_` prefix, as Nova's
    get_system_metadata_from_image (a boot writes them, a rebuild replaces them)."""
    own = {"base_image_ref": image["id"], **{k: image[k] for k in _IMAGE_FIELDS}}
    return {
        f"image_{k}": str(v) for k, v in {**image["properties"], **own}.items() if v is not None
    }


def image_properties_of(system_metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The image properties a server keeps (`image_system_metadata` without the image's
    own fields): what its view shows (2.98) and its snapshots inherit."""
    own = {"base_image_ref", *_IMAGE_FIELDS}
    properties = {
        k.removeprefix("image_"): v
        for k, v in (system_metadata or {}).items()
        if k.startswith("image_")
    }
    return {k: v for k, v in properties.items() if k not in own}


def image_record(image: Image) -> dict[str, Any]:
    """What the scheduler and the instance keep of the image."""
    return {
        "id": image.id,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "min_ram": image.min_ram,
        "min_disk": image.min_disk,
        "properties": {k: v for k, v in images.properties_of(image).items() if v is not None},
    }


async def available_zones(session: AsyncSession) -> set[str]:
    """The zones a boot may name: those with an enabled compute service (Nova's)."""
    available, _ = zones.split(await zones.all_services(session))
    return set(available) - {zones.INTERNAL_ZONE}


async def _zone_and_host(
    session: AsyncSession, requested: str | None, may_force: bool
) -> tuple[str | None, str | None]:
    """``zone``, ``zone:host`` or ``zone:host:node`` → (zone, forced host)."""
    if not requested:
        return None, None
    zone, _, rest = requested.partition(":")
    host = rest.split(":")[0] or None if rest else None
    if host and not may_force:
        raise Forbidden(
            "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed."
        )
    if zone and zone not in await available_zones(session):
        raise BadRequest("The requested availability zone is not available")
    return zone or None, host


async def _group(session: AsyncSession, hints: dict[str, Any], who: Who) -> Any:
    value = hints.get("group")
    if isinstance(value, list):
        value = value[0] if value else None
    if not value:
        return None
    try:
        return await groups.get(session, str(value), who.project_id)
    except NotFound as error:
        raise BadRequest(error.message) from None


@dataclass
class _Plan:
    """A boot whose reads have all passed: what its one write transaction needs."""

    boot: BootRequest
    who: Who
    spec: Spec
    key: Any
    group: Any
    auto_disk_config: bool
    reservation_id: str = field(default_factory=lambda: f"r-{secrets.token_hex(4)}")


async def create(db: Database, boot: BootRequest, who: Who) -> Booted:
    """Check a boot and write its servers (BUILD/scheduling); see the module docstring.

    The lookups come first (flavor and image in one hop to the database's thread;
    key, zone and group in a reading session), then the quota checks and every row of
    the boot in one write transaction (`_write`, one hop), then, if a limit applies,
    the recheck (`_recheck`)."""
    if boot.min_count > boot.max_count:
        raise BadRequest("min_count must be <= max_count")
    image_id = id_from_href(boot.image_ref) if boot.image_ref else None

    def lookup(connection: Connection) -> tuple[dict[str, Any], Image | None]:
        flavor = flavor_in(connection, boot.flavor_ref, who)
        return flavor, image_in(connection, image_id) if image_id else None

    flavor, image = await work.read(db, lookup)
    async with db.reader() as session:
        plan = await _plan(session, boot, who, flavor, image)
    uuids, limited = await work.write(db, lambda connection: _write(connection, plan))
    if limited:
        await _recheck(db, plan, uuids)
    spec = {**plan.spec, "num_instances": len(uuids)}
    password = boot.admin_password or generate_password()
    return Booted(uuids, plan.reservation_id, password, spec, plan.auto_disk_config)


async def _plan(
    session: AsyncSession,
    boot: BootRequest,
    who: Who,
    flavor: dict[str, Any],
    found: Image | None,
) -> _Plan:
    """The checks of a boot after its flavor's that read no usage (400s and 403s in
    Nova's order)."""
    if not boot.image_ref:
        raise BadRequest("Missing imageRef attribute")
    image = await usable_image(session, found, id_from_href(boot.image_ref), who)
    check_image_fits(image, flavor)
    record = image_record(image)
    auto_disk_config = disk_config.chosen(boot.auto_disk_config, record["properties"], image.id)
    key = None
    if boot.key_name is not None:
        try:
            key = await keypairs.get(session, who.user_id, boot.key_name)
        except NotFound:
            raise BadRequest("Invalid key_name provided.") from None
    if isinstance(boot.networks, list):
        await networking.check_requested(session, who.project_id, boot.networks)
    await networking.check_security_groups(session, who.project_id, boot.security_groups)
    zone, force_host = await _zone_and_host(session, boot.availability_zone, boot.may_force_host)
    group = await _group(session, boot.scheduler_hints, who)
    spec = Spec(
        project_id=who.project_id,
        user_id=who.user_id,
        flavor=flavor,
        image=record,
        availability_zone=zone,
        force_host=force_host,
        scheduler_hints=boot.scheduler_hints,
        group={"uuid": group.uuid, "policy": group.policy, "rules": group.rules or {}}
        if group
        else None,
    )
    return _Plan(boot, who, spec, key, group, auto_disk_config)


def _write(connection: Connection, plan: _Plan) -> tuple[list[str], bool]:
    """The quota checks and the boot's rows, in one transaction: the servers' uuids
    and whether an instance limit applies (then the caller rechecks)."""
    boot, who, flavor = plan.boot, plan.who, plan.spec["flavor"]
    quotas.lock_project_in(connection, who.project_id)
    if boot.metadata:
        quotas.check_in(connection, who.project_id, who.user_id, metadata_items=len(boot.metadata))
    count, limited = quotas.check_instances_in(
        connection,
        who.project_id,
        who.user_id,
        vcpus=flavor["vcpus"],
        memory_mb=flavor["memory_mb"],
        min_count=boot.min_count,
        max_count=boot.max_count,
    )
    if plan.group is not None:
        quotas.check_in(
            connection,
            who.project_id,
            who.user_id,
            server_group=plan.group.uuid,
            server_group_members=count,
        )
    spec = Spec(**{**plan.spec, "num_instances": count})  # type: ignore[typeddict-item]
    rows: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    uuids = []
    for index in range(count):
        uuid = str(uuidlib.uuid4())
        uuids.append(uuid)
        rows[Instance].append(_instance_row(plan, spec, uuid, index, count))
        rows[InstanceMapping].append(
            {"instance_uuid": uuid, "project_id": who.project_id, "user_id": who.user_id}
        )
        rows[RequestSpec].append(request_spec.row(uuid, spec))
        rows[InstanceMetadata] += [
            {"instance_uuid": uuid, "key": k, "value": v} for k, v in boot.metadata.items()
        ]
        rows[Tag] += [{"instance_uuid": uuid, "tag": t} for t in dict.fromkeys(boot.tags)]
        if plan.group is not None:
            rows[ServerGroupMember].append({"group_id": plan.group.id, "instance_uuid": uuid})
        rows[InstanceAction].append(actions.row(uuid, actions.CREATE, who.caller()))
    for model, values in rows.items():
        if values:
            connection.execute(insert(model), values)
    return uuids, limited


async def _recheck(db: Database, plan: _Plan, uuids: list[str]) -> None:
    """Count again now that the servers are committed; over a limit (a concurrent boot
    passed the same check), take them back and refuse the boot as the check would."""
    who, flavor = plan.who, plan.spec["flavor"]

    def recheck(connection: Connection) -> None:
        quotas.recheck_instances_in(
            connection,
            who.project_id,
            who.user_id,
            count=len(uuids),
            vcpus=flavor["vcpus"],
            memory_mb=flavor["memory_mb"],
        )

    try:
        await work.read(db, recheck)
    except quotas.OverQuota:
        await work.write(db, lambda connection: _take_back(connection, uuids))
        raise


def _take_back(connection: Connection, uuids: list[str]) -> None:
    """Remove every row a boot wrote (nothing was cast yet, nothing else refers to them)."""
    for model in (InstanceMetadata, Tag, ServerGroupMember, RequestSpec, InstanceMapping):
        connection.execute(delete(model).where(model.instance_uuid.in_(uuids)))
    connection.execute(delete(InstanceAction).where(InstanceAction.instance_uuid.in_(uuids)))
    connection.execute(delete(Instance).where(Instance.uuid.in_(uuids)))


def _instance_row(plan: _Plan, spec: Spec, uuid: str, index: int, count: int) -> dict[str, Any]:
    boot, who, key = plan.boot, plan.who, plan.key
    name = MULTI_NAME.format(name=boot.name, count=index + 1) if count > 1 else boot.name
    hostname = boot.hostname if boot.hostname and count == 1 else sanitize_hostname(name)
    flavor, image = spec["flavor"], spec["image"]
    system_metadata = {
        **image_system_metadata(image),
        **networking.boot_metadata(boot.networks, boot.security_groups),
        **disk_config.entry(plan.auto_disk_config),
    }
    return {
        "uuid": uuid,
        "project_id": who.project_id,
        "user_id": who.user_id,
        "display_name": name,
        "display_description": boot.description,
        "hostname": hostname or f"server-{uuid}",
        "availability_zone": spec.get("availability_zone"),
        "vm_state": states.BUILDING,
        "task_state": states.SCHEDULING,
        "power_state": states.NOSTATE,
        "flavor": {"current": flavor},
        "image_ref": image["id"],
        "key_name": key.name if key else None,
        "key_data": key.public_key if key else None,
        "user_data": boot.user_data,
        "config_drive": "True" if boot.config_drive else "",
        "access_ip_v4": boot.access_ip_v4,
        "access_ip_v6": boot.access_ip_v6,
        "reservation_id": plan.reservation_id,
        "launch_index": index,
        "system_metadata": system_metadata,
        "root_device_name": "/dev/vda",
        **instances.size_columns(flavor),
    }
