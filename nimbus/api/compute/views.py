"""Response bodies of the compute resources other than servers: how Nova spells
timestamps, and one view function per resource."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request

from nimbus.api.compute.common import at_least, links
from nimbus.compute.aggregates import Details
from nimbus.compute.service_admin import Hypervisor, uptime
from nimbus.compute.zones import ZonedService
from nimbus.db.models.cell import Instance, Service
from nimbus.db.models.compute import Flavor, KeyPair, ServerGroup


def isotime(moment: datetime | None) -> str | None:
    """Nova's API timestamp: seconds, 'Z' (servers, services' updated_at...)."""
    return f"{moment.replace(tzinfo=None).isoformat(timespec='seconds')}Z" if moment else None


def dbtime(moment: datetime | None) -> str | None:
    """A timestamp Nova renders straight from its object (key pairs, aggregates,
    hypervisor services): ISO 8601 with microseconds and no zone."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") if moment else None


# --- flavors --------------------------------------------------------------------------


def flavor_brief(request: Request, flavor: Flavor) -> dict[str, Any]:
    """GET /flavors: id, name and links (and the description from 2.55)."""
    body: dict[str, Any] = {
        "id": flavor.flavorid,
        "name": flavor.name,
        "links": links(request, "flavors", flavor.flavorid),
    }
    if at_least(request, "2.55"):
        body["description"] = flavor.description
    return body


def flavor(
    request: Request, flavor: Flavor, extra_specs: dict[str, str] | None = None
) -> dict[str, Any]:
    """A flavor in full; `extra_specs` only from 2.61 and when the caller may see them.
    Swap 0 shows as "" before 2.75, as upstream's view always did."""
    body = {
        **flavor_brief(request, flavor),
        "ram": flavor.memory_mb,
        "disk": flavor.root_gb,
        "swap": flavor.swap if flavor.swap or at_least(request, "2.75") else "",
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        "vcpus": flavor.vcpus,
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": flavor.rxtx_factor or "",
    }
    if at_least(request, "2.102"):  # both gone from every flavor response
        del body["OS-FLV-DISABLED:disabled"], body["rxtx_factor"]
    if extra_specs is not None:
        body["extra_specs"] = extra_specs
    return body


# --- key pairs ------------------------------------------------------------------------


def keypair(
    request: Request, row: KeyPair, *, listing: bool = False, created: bool = False
) -> dict[str, Any]:
    """A key pair as Nova shows it: name, public key and fingerprint in a list (and the
    type from 2.2); the owner on create; everything, soft-delete fields included
    (never set: nothing is soft deleted), on show."""
    body: dict[str, Any] = {
        "name": row.name,
        "public_key": row.public_key,
        "fingerprint": row.fingerprint,
    }
    if at_least(request, "2.2"):
        body["type"] = row.type
    if listing:
        return body
    body["user_id"] = row.user_id
    if created:
        return body
    return {
        **body,
        "created_at": dbtime(row.created_at),
        "deleted": False,
        "deleted_at": None,
        "id": row.id,
        "updated_at": None,
    }


# --- server groups --------------------------------------------------------------------


def server_group(request: Request, group: ServerGroup, members: list[str]) -> dict[str, Any]:
    """Before 2.64 the policy is a one-item ``policies`` list beside an always-empty
    ``metadata``; from 2.64 ``policy`` and ``rules``; owner ids from 2.13."""
    body: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if at_least(request, "2.64"):
        body["policy"] = group.policy
        body["rules"] = group.rules or {}
    else:
        body["policies"] = [group.policy]
        body["metadata"] = {}
    body["members"] = members
    if at_least(request, "2.13"):
        body["project_id"] = group.project_id
        body["user_id"] = group.user_id
    return body


# --- aggregates -----------------------------------------------------------------------


def aggregate(request: Request, found: Details, *, created: bool = False) -> dict[str, Any]:
    """Every field of Nova's object (uuid from 2.41); a create's answer lacks hosts and
    metadata, as upstream's does."""
    row = found.row
    body: dict[str, Any] = {
        "availability_zone": found.availability_zone,
        "created_at": dbtime(row.created_at),
        "deleted": False,
        "deleted_at": None,
        "id": row.id,
        "name": row.name,
        "updated_at": dbtime(row.updated_at),
    }
    if not created:
        body["hosts"] = list(found.hosts)
        body["metadata"] = dict(found.metadata)
    if at_least(request, "2.41"):
        body["uuid"] = row.uuid
    return body


# --- services and hypervisors ---------------------------------------------------------


def _service_id(request: Request, service: Service) -> int | str:
    """Row ids before 2.53, uuids from it."""
    return service.uuid if at_least(request, "2.53") else service.id


def service(request: Request, zoned: ZonedService, alive: bool) -> dict[str, Any]:
    row = zoned.service
    body: dict[str, Any] = {
        "binary": row.binary,
        "host": row.host,
        "id": _service_id(request, row),
        "zone": zoned.zone,
        "status": "disabled" if row.disabled else "enabled",
        "state": "up" if alive else "down",
        "updated_at": dbtime(row.updated_at),
        "disabled_reason": row.disabled_reason,
    }
    if at_least(request, "2.11"):
        body["forced_down"] = row.forced_down
    return body


_NODE_TOTALS = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used")


def hypervisor(
    request: Request,
    found: Hypervisor,
    alive: bool,
    *,
    detail: bool,
    servers: list[Instance] | None = None,
) -> dict[str, Any]:
    """Nova's hypervisor view: sizes and cpu_info (a string before 2.28, an object
    from it) until 2.88 removed them and added uptime; `servers` when asked for."""
    node, owner = found.node, found.service
    body: dict[str, Any] = {
        "id": node.uuid if at_least(request, "2.53") else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if alive else "down",
        "status": "disabled" if owner.disabled else "enabled",
    }
    if detail:
        body.update(
            hypervisor_type=node.hypervisor_type,
            hypervisor_version=node.hypervisor_version,
            host_ip=node.host_ip,
            service={
                "id": _service_id(request, owner),
                "host": node.host,
                "disabled_reason": owner.disabled_reason,
            },
        )
        if at_least(request, "2.88"):
            body["uptime"] = uptime(found)
        else:
            body.update({name: getattr(node, name) for name in _NODE_TOTALS})
            body.update(
                free_ram_mb=node.memory_mb - node.memory_mb_used,
                free_disk_gb=node.local_gb - node.local_gb_used,
                current_workload=0,
                running_vms=node.running_vms,
                disk_available_least=node.local_gb - node.local_gb_used,
                cpu_info=json.loads(node.cpu_info or "{}")
                if at_least(request, "2.28")
                else node.cpu_info,
            )
    if servers is not None:
        body["servers"] = [{"name": s.display_name, "uuid": s.uuid} for s in servers]
    return body
