"""Server bodies as Nova's view builder shapes them, per microversion.

A `Page` loads, in one query each, what the servers of a response carry besides their
row (metadata, tags, faults, request specs, host liveness), and `ServerView` decides
once per request what the caller may see, so rendering a thousand servers is a loop
over dicts.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from starlette.requests import Request

from nimbus.api.compute import common
from nimbus.api.compute.views import dbtime, isotime
from nimbus.compute import disk_config, faults, hosts, listing, networking, states
from nimbus.compute.boot import image_properties_of
from nimbus.db.models.cell import Instance, Service
from nimbus.db.models.compute import RequestSpec, ServerGroup, ServerGroupMember


@functools.lru_cache(maxsize=4096)
def host_id(host: str | None, project_id: str) -> str:
    """Nova's hostId: an opaque per-project hash of the host ("" without one); kept,
    since a page of servers has few hosts and projects."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def instance_name(instance: Instance) -> str:
    """Nova's instance_name_template."""
    return f"instance-{instance.id:08x}"


def disk_config_shown(auto: bool) -> str:
    """OS-DCF:diskConfig, in every server body at every microversion (as Nova)."""
    return "AUTO" if auto else "MANUAL"


def server_links(base: str, uuid: str) -> list[dict[str, str]]:
    """A server's self and bookmark links under the API's `base` URL."""
    return [
        {"rel": "self", "href": f"{base}{common.API_ROOT}/servers/{uuid}"},
        {"rel": "bookmark", "href": f"{base}/servers/{uuid}"},
    ]


@dataclass
class Page:
    """What the servers of one response carry besides their rows."""

    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)
    #: instance uuid → its newest fault (a row)
    faults: dict[str, Any] = field(default_factory=dict)
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    #: host → "UP" / "DOWN" / "MAINTENANCE"
    host_status: dict[str, str] = field(default_factory=dict)
    #: instance uuid → Nova's `addresses`, and its ports' security group names
    addresses: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    security_groups: dict[str, list[str]] = field(default_factory=dict)


#: The address keys of Nova's extended view (OS-EXT-IPS, OS-EXT-IPS-MAC).
_EXTENDED_ADDRESS_KEYS = ("OS-EXT-IPS:type", "OS-EXT-IPS-MAC:mac_addr")


def _addresses(addresses: dict[str, list[Any]], *, extended: bool) -> dict[str, list[Any]]:
    """The server's addresses; Nova's basic view (update, rebuild before 2.75) gives
    only version and address (its `extend_address=False`)."""
    if extended:
        return addresses
    return {
        network: [
            {k: v for k, v in entry.items() if k not in _EXTENDED_ADDRESS_KEYS} for entry in entries
        ]
        for network, entries in addresses.items()
    }


@dataclass
class ServerView:
    """What a request may see, decided once for every server it renders."""

    request: Request
    base: str
    version: common.Version
    extended: bool
    extra_specs: bool
    host_status: bool
    is_admin: bool

    @classmethod
    def of(cls, request: Request, project_id: str | None = None) -> ServerView:
        target = {"project_id": project_id} if project_id else {}
        return cls(
            request=request,
            base=common.base_url(request),
            version=common.version(request),
            extended=common.allowed(
                request, "os_compute_api:os-extended-server-attributes", **target
            ),
            extra_specs=common.allowed(
                request, "os_compute_api:servers:show:flavor-extra-specs", **target
            ),
            host_status=common.allowed(
                request, "os_compute_api:servers:show:host_status", **target
            ),
            is_admin=common.caller(request).is_admin,
        )

    def at_least(self, minor: int) -> bool:
        return self.version >= (2, minor)

    def load(self, connection: Connection, servers: list[Any], *, groups: bool = False) -> Page:
        """What `servers` carry besides their rows, in one query each (a unit of work:
        nimbus.placement.work)."""
        uuids = [s.uuid for s in servers]
        page = Page(
            metadata=listing.metadata_in(connection, uuids),
            addresses=networking.addresses_in(connection, uuids),
            security_groups=networking.security_groups_in(connection, uuids),
        )
        if self.at_least(26):
            page.tags = listing.tags_in(connection, uuids)
        failed = [s.uuid for s in servers if s.vm_state == states.ERROR or s.deleted]
        page.faults = faults.latest_in(connection, failed)
        if self.at_least(96) and uuids:
            # Only what the view shows of each request spec, taken out by the database:
            # decoding the whole documents cost more than the rest of the page.
            zone, hints = RequestSpec.spec["availability_zone"], RequestSpec.spec["scheduler_hints"]
            rows = connection.execute(
                select(RequestSpec.instance_uuid, zone, hints).where(
                    RequestSpec.instance_uuid.in_(uuids)
                )
            )
            page.specs = {
                uuid: {"availability_zone": zone, "scheduler_hints": hints}
                for uuid, zone, hints in rows.all()
            }
        if groups and self.at_least(71) and uuids:
            rows = connection.execute(
                select(ServerGroupMember.instance_uuid, ServerGroup.uuid)
                .join(ServerGroup, ServerGroup.id == ServerGroupMember.group_id)
                .where(ServerGroupMember.instance_uuid.in_(uuids))
            )
            for member, group in rows.all():
                page.groups.setdefault(member, []).append(group)
        if self.at_least(16) and self.host_status:
            page.host_status = self._host_status(connection, servers)
        return page

    def _host_status(self, connection: Connection, servers: list[Any]) -> dict[str, str]:
        names = {s.host for s in servers if s.host}
        if not names:
            return {}
        rows = connection.execute(
            select(*Service.__table__.columns).where(
                Service.host.in_(names), Service.binary == hosts.COMPUTE
            )
        )
        down_time = self.request.app.state.service_down_time
        status = {}
        for service in rows.all():
            if not hosts.is_up(service, down_time):
                status[service.host] = "DOWN"
            elif service.disabled:
                status[service.host] = "MAINTENANCE"
            else:
                status[service.host] = "UP"
        return status

    # --- bodies -------------------------------------------------------------------------

    def links(self, uuid: str) -> list[dict[str, str]]:
        return server_links(self.base, uuid)

    def brief(self, server: Instance) -> dict[str, Any]:
        return {"id": server.uuid, "name": server.display_name, "links": self.links(server.uuid)}

    def _image(self, server: Instance) -> dict[str, Any] | str:
        if not server.image_ref:
            return ""
        image: dict[str, Any] = {
            "id": server.image_ref,
            "links": [{"rel": "bookmark", "href": f"{self.base}/images/{server.image_ref}"}],
        }
        if self.at_least(98):
            image["properties"] = image_properties_of(server.system_metadata)
        return image

    def _flavor(self, server: Instance) -> dict[str, Any]:
        flavor = (server.flavor or {}).get("current") or {}
        if not flavor:
            return {}
        if self.at_least(47):
            shown = {
                "vcpus": flavor["vcpus"],
                "ram": flavor["memory_mb"],
                "disk": flavor["root_gb"],
                "ephemeral": flavor["ephemeral_gb"],
                "swap": flavor["swap"],
                "original_name": flavor["name"],
            }
            if self.extra_specs:
                shown["extra_specs"] = flavor.get("extra_specs") or {}
            return shown
        flavorid = flavor["flavorid"]
        return {
            "id": str(flavorid),
            "links": [{"rel": "bookmark", "href": f"{self.base}/flavors/{flavorid}"}],
        }

    def _fault(self, fault: Any) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "code": fault.code,
            "created": isotime(fault.created_at),
            "message": fault.message,
        }
        if fault.details and (self.is_admin or fault.code != 500):
            shown["details"] = fault.details
        return shown

    def detail(
        self, server: Instance, page: Page, *, groups: bool = False, extras: bool = True
    ) -> dict[str, Any]:
        """The full body of one server (GET /servers/{id}, /servers/detail).

        `extras` False leaves out what Nova's update and rebuild answers lack before
        2.75: zone, config drive, key name, usage times, extended status, volumes,
        extended attributes and host status (Tempest's schemas refuse them there).
        """
        status = states.status_of(server.vm_state, server.task_state, bool(server.deleted))
        body: dict[str, Any] = {
            "id": server.uuid,
            "name": server.display_name,
            "status": status,
            "tenant_id": server.project_id,
            "user_id": server.user_id,
            "metadata": page.metadata.get(server.uuid, {}),
            "hostId": host_id(server.host, server.project_id),
            "image": self._image(server),
            "flavor": self._flavor(server),
            "created": isotime(server.created_at),
            "updated": isotime(server.updated_at),
            "addresses": _addresses(page.addresses.get(server.uuid, {}), extended=extras),
            "accessIPv4": server.access_ip_v4 or "",
            "accessIPv6": server.access_ip_v6 or "",
            "links": self.links(server.uuid),
            "OS-DCF:diskConfig": disk_config_shown(disk_config.auto_of(server.system_metadata)),
        }
        if extras:
            body.update(
                {
                    "OS-EXT-AZ:availability_zone": server.availability_zone or "",
                    "config_drive": server.config_drive or "",
                    "key_name": server.key_name,
                    "OS-SRV-USG:launched_at": dbtime(server.launched_at),
                    "OS-SRV-USG:terminated_at": dbtime(server.terminated_at),
                    "OS-EXT-STS:task_state": server.task_state,
                    "OS-EXT-STS:vm_state": server.vm_state,
                    "OS-EXT-STS:power_state": server.power_state,
                    "os-extended-volumes:volumes_attached": [],
                }
            )
        if status in states.PROGRESS_STATUSES:
            body["progress"] = server.progress or 0
        if extras and (groups_of_server := page.security_groups.get(server.uuid)):
            body["security_groups"] = [{"name": name} for name in groups_of_server]
        fault = page.faults.get(server.uuid)
        if fault is not None and status in states.FAULT_STATUSES:
            body["fault"] = self._fault(fault)
        if self.extended and extras:
            self._extended(server, body)
        self._versioned(server, page, body, groups, extras)
        return body

    def _extended(self, server: Instance, body: dict[str, Any]) -> None:
        body["OS-EXT-SRV-ATTR:host"] = server.host
        body["OS-EXT-SRV-ATTR:instance_name"] = instance_name(server)
        body["OS-EXT-SRV-ATTR:hypervisor_hostname"] = server.node
        if self.at_least(3):
            # Nova copies the image's kernel_id/ramdisk_id onto the instance at boot.
            meta = server.system_metadata or {}
            body.update(
                {
                    "OS-EXT-SRV-ATTR:hostname": server.hostname,
                    "OS-EXT-SRV-ATTR:kernel_id": meta.get("image_kernel_id", ""),
                    "OS-EXT-SRV-ATTR:launch_index": server.launch_index,
                    "OS-EXT-SRV-ATTR:ramdisk_id": meta.get("image_ramdisk_id", ""),
                    "OS-EXT-SRV-ATTR:reservation_id": server.reservation_id,
                    "OS-EXT-SRV-ATTR:root_device_name": server.root_device_name,
                    "OS-EXT-SRV-ATTR:user_data": server.user_data,
                }
            )

    def _versioned(
        self, server: Instance, page: Page, body: dict[str, Any], groups: bool, extras: bool
    ) -> None:
        if self.at_least(9):
            body["locked"] = bool(server.locked)
        if self.at_least(16) and self.host_status and extras:
            body["host_status"] = (
                page.host_status.get(server.host or "", "UNKNOWN") if server.host else ""
            )
        if self.at_least(19):
            body["description"] = server.display_description
        if self.at_least(26):
            body["tags"] = page.tags.get(server.uuid, [])
        if self.at_least(63):
            body["trusted_image_certificates"] = None
        if groups and self.at_least(71):
            body["server_groups"] = page.groups.get(server.uuid, [])
        if self.at_least(73):
            body["locked_reason"] = server.locked_reason
        if self.at_least(90) and not self.extended:
            body["OS-EXT-SRV-ATTR:hostname"] = server.hostname
        if self.at_least(96):
            spec = page.specs.get(server.uuid) or {}
            body["pinned_availability_zone"] = spec.get("availability_zone")
            if self.at_least(100):
                body["scheduler_hints"] = spec.get("scheduler_hints") or {}
