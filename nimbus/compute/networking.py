"""Servers on Neutron networks: what Nova's network API does, in-process.

Nova talks to Neutron over HTTP; here the compute side calls the network domain
(`nimbus.network`) directly on the same database, behind `NetworkClient` — the seam
where an HTTP client to a remote Neutron could go. What it does, as Nova does:

- at the API, a boot's `networks` are checked (`check_requested`: a missing network or
  port is a 400, a port already attached to something a 409);
- at build time, on the host, `allocate_for_instance` creates a port per requested
  network (or picks "auto"'s network) and takes over the ports the user passed, bound to
  the host with `device_id` = the server and `device_owner` = `compute:<zone>`, in the
  server's security groups;
- at delete, `deallocate_for_instance` deletes the ports it created and unbinds those
  the user passed (the ids of those are kept in the server's system metadata,
  `user_ports`, as Nova keeps `preserve_on_delete` in its network info cache);
- the `addresses` and `security_groups` of servers come from their ports, one query
  per page (`addresses_in`, `security_groups_in`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.engine import Database
from nimbus.db.models.cell import Instance
from nimbus.db.models.network import (
    FloatingIp,
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
)
from nimbus.errors import BadRequest, Conflict
from nimbus.network import errors as neutron
from nimbus.network import ports, security_groups
from nimbus.network.ipam import IpRequest
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import SERVICE, Scope
from nimbus.network.transactions import retrying

#: system_metadata keys: the boot's requested networks and security groups (JSON), and
#: the ports the user brought, which a delete unbinds rather than deletes.
REQUESTED = "requested_networks"
GROUPS = "security_groups"
USER_PORTS = "user_ports"


class SecurityGroupNotFound(BadRequest):
    """A 400 at boot, a 404 for the server actions (as Nova answers each)."""


@dataclass(frozen=True)
class Requested:
    """One entry of a boot's (or an interface attach's) networks."""

    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None


@dataclass(frozen=True)
class Vif:
    """A port as the hypervisor plugs it: its MAC and the tap the data plane expects."""

    port_id: str
    network_id: str
    mac: str
    tap: str


def requested_of(system_metadata: dict[str, Any]) -> list[Requested]:
    return [Requested(**r) for r in json.loads(system_metadata.get(REQUESTED) or "[]")]


def encode_requested(requested: list[Requested]) -> str:
    return json.dumps([r.__dict__ for r in requested])


# --- checks at the API -------------------------------------------------------------------


async def check_requested(
    session: AsyncSession, project_id: str, requested: list[Requested]
) -> None:
    """Nova's checks of requested networks and ports before anything is written."""
    scope = Scope(project_id=project_id)
    for entry in requested:
        if entry.port_id:
            port = await session.get(Port, entry.port_id)
            if port is None or not (
                scope.owns(port.project_id) or await _owns_network(session, scope, port)
            ):
                raise BadRequest(f"Port id {entry.port_id} could not be found.")
            if port.device_id:
                raise Conflict(f"Port {entry.port_id} is still in use.")
        elif entry.network_id:
            network = await session.get(Network, entry.network_id)
            if network is None or not (scope.owns(network.project_id) or network.shared):
                raise BadRequest(f"Network {entry.network_id} could not be found.")


async def _owns_network(session: AsyncSession, scope: Scope, port: Port) -> bool:
    network = await session.get(Network, port.network_id)
    return network is not None and scope.owns(network.project_id)


async def check_security_groups(session: AsyncSession, project_id: str, names: list[str]) -> None:
    """Every named group exists in the project ("default" always does: it is made on
    first use)."""
    await _group_ids(session, project_id, [n for n in names if n != "default"])


def boot_metadata(networks: Any, groups: list[str]) -> dict[str, str]:
    """What a boot records in the server's system metadata for its build and delete."""
    if isinstance(networks, str) or networks is None:
        return {"networks": networks or "auto", GROUPS: json.dumps(groups)}
    user_ports = [r.port_id for r in networks if r.port_id]
    return {
        "networks": "requested",
        REQUESTED: encode_requested(networks),
        USER_PORTS: json.dumps(user_ports),
        GROUPS: json.dumps(groups),
    }


async def _group_ids(session: AsyncSession, project_id: str, names: list[str]) -> list[str]:
    """The project's groups by name or id ("default" is made on first use)."""
    ids = []
    for name in names:
        if name == "default":
            ids.append(await security_groups.ensure_default(session, project_id))
            continue
        found = await session.scalar(
            select(SecurityGroup.id).where(
                SecurityGroup.project_id == project_id,
                (SecurityGroup.name == name) | (SecurityGroup.id == name),
            )
        )
        if found is None:
            raise SecurityGroupNotFound(
                f"Security group {name} not found for project {project_id}."
            )
        ids.append(found)
    return list(dict.fromkeys(ids))


async def auto_network(session: AsyncSession, project_id: str) -> str | None:
    """ "auto": the project's only network, else the only shared one (Nova's
    get-me-a-network, without auto-allocating a topology)."""
    usable = select(Network.id).where(Network.external.is_(False))
    for query in (
        usable.where(Network.project_id == project_id),
        usable.where(Network.shared.is_(True)),
    ):
        found = list((await session.scalars(query.limit(2))).all())
        if len(found) == 1:
            return found[0]
        if found:
            raise Conflict(
                "Multiple possible networks found, use a Network ID to be more specific."
            )
    return None


# --- the client the compute agent and API use ---------------------------------------------


class NetworkClient(Protocol):
    async def allocate_for_instance(self, instance: dict[str, Any], host: str) -> list[Vif]: ...

    async def deallocate_for_instance(self, instance: dict[str, Any]) -> None: ...

    async def vifs(self, instance_uuid: str) -> list[Vif]: ...

    async def attach(self, instance: dict[str, Any], host: str, wanted: Requested) -> Vif: ...

    async def detach(self, instance: dict[str, Any], port_id: str) -> None: ...


class LocalNetwork:
    """`NetworkClient` on this process's database (the network domain in-process).

    `tap_of` names a port's tap as this host's data plane does (the network agent plugs
    the tap of that name into the port's bridge)."""

    def __init__(self, db: Database, options: NetworkOptions, tap_of: Any) -> None:
        self.db = db
        self.options = options
        self.tap_of = tap_of

    def _vif(self, port: Port) -> Vif:
        return Vif(port.id, port.network_id, port.mac_address, self.tap_of(port.id))

    async def allocate_for_instance(self, instance: dict[str, Any], host: str) -> list[Vif]:
        """The server's ports, created or taken over, in the order asked; a build that
        runs again (a reschedule, a rebuild) finds the ports of its first attempt."""
        meta = instance.get("system_metadata") or {}
        if meta.get("networks") == "none":
            return []

        async def work(session: AsyncSession) -> list[Vif]:
            existing = await ports.by_device(session, instance["uuid"])
            if existing:
                return [self._vif(await _bind(session, p, instance, host)) for p in existing]
            requested = requested_of(meta)
            if not requested:
                network = await auto_network(session, instance["project_id"])
                requested = [Requested(network_id=network)] if network else []
            groups = json.loads(meta.get(GROUPS) or '["default"]')
            made = [
                await self._port(session, instance, host, wanted, groups) for wanted in requested
            ]
            return [self._vif(p) for p in made]

        return await retrying(self.db, work)

    async def _port(
        self,
        session: AsyncSession,
        instance: dict[str, Any],
        host: str,
        wanted: Requested,
        groups: list[str] | None,
    ) -> Port:
        """The port given (taken over) or a new one on the network asked for."""
        project = instance["project_id"]
        if wanted.port_id:
            port = await session.get(Port, wanted.port_id)
            if port is None:
                raise neutron.PortNotFound(port_id=wanted.port_id)
            if port.device_id and port.device_id != instance["uuid"]:
                raise neutron.PortInUse(
                    port_id=port.id, net_id=port.network_id, device_id=port.device_id
                )
            return await _bind(session, port, instance, host)
        port = await ports.create(
            session,
            Scope(project_id=project),
            self.options,
            network_id=wanted.network_id or "",
            project_id=project,
            fixed_ips=[IpRequest(ip_address=wanted.fixed_ip)] if wanted.fixed_ip else None,
            security_groups=await _group_ids(session, project, groups) if groups else None,
            device_owner=_owner(instance),
            device_id=instance["uuid"],
        )
        return await ports.bind(session, port.id, host)

    async def deallocate_for_instance(self, instance: dict[str, Any]) -> None:
        await release_ports(self.db, instance["uuid"], instance.get("system_metadata") or {})

    async def vifs(self, instance_uuid: str) -> list[Vif]:
        async with self.db.reader() as session:
            return [self._vif(p) for p in await ports.by_device(session, instance_uuid)]

    async def attach(self, instance: dict[str, Any], host: str, wanted: Requested) -> Vif:
        async def work(session: AsyncSession) -> Vif:
            return self._vif(await self._port(session, instance, host, wanted, None))

        return await retrying(self.db, work)

    async def detach(self, instance: dict[str, Any], port_id: str) -> None:
        kept = set(json.loads((instance.get("system_metadata") or {}).get(USER_PORTS) or "[]"))

        async def work(session: AsyncSession) -> None:
            port = await session.get(Port, port_id)
            if port is not None and port.device_id == instance["uuid"]:
                await _release(session, port, keep=port_id in kept)

        await retrying(self.db, work)


async def _bind(session: AsyncSession, port: Port, instance: dict[str, Any], host: str) -> Port:
    await ports.update(
        session, SERVICE, port, {"device_id": instance["uuid"], "device_owner": _owner(instance)}
    )
    return await ports.bind(session, port.id, host)


async def keep_user_port(db: Database, instance_uuid: str, port_id: str) -> None:
    """Note a port the user brought (an interface attach by port), so that the
    server's delete unbinds it rather than deletes it."""
    async with db.transaction() as session:
        instance = await session.scalar(select(Instance).where(Instance.uuid == instance_uuid))
        if instance is None:
            return
        meta = dict(instance.system_metadata or {})
        kept = json.loads(meta.get(USER_PORTS) or "[]")
        if port_id not in kept:
            meta[USER_PORTS] = json.dumps([*kept, port_id])
            instance.system_metadata = meta


async def release_ports(db: Database, instance_uuid: str, system_metadata: dict[str, Any]) -> None:
    """A deleted server's ports (Nova's deallocate_for_instance): deleted if Nova made
    them, unbound if the user brought them (`user_ports`)."""
    kept = set(json.loads(system_metadata.get(USER_PORTS) or "[]"))

    async def work(session: AsyncSession) -> None:
        for port in await ports.by_device(session, instance_uuid):
            await _release(session, port, keep=port.id in kept)

    await retrying(db, work)


async def _release(session: AsyncSession, port: Port, *, keep: bool) -> None:
    if not keep:
        await ports.delete_port(session, port)
        return
    await ports.update(session, SERVICE, port, {"device_id": "", "device_owner": ""})
    await ports.bind(session, port.id, "")


def _owner(instance: dict[str, Any]) -> str:
    return f"{ports.COMPUTE_PREFIX}{instance.get('availability_zone') or 'nova'}"


async def set_security_group(
    session: AsyncSession, instance_uuid: str, project_id: str, name: str, *, add: bool
) -> None:
    """addSecurityGroup / removeSecurityGroup: every port of the server gains or loses
    the group. As Nova: an unknown group, a server with no port, or removing a group no
    port has is SecurityGroupNotFound (404); adding a group a port already has is not
    an error (the port keeps it once)."""
    (group_id,) = await _group_ids(session, project_id, [name])
    server_ports = await ports.by_device(session, instance_uuid)
    if not server_ports:
        raise SecurityGroupNotFound(
            f"instance_id {instance_uuid} could not be found as device id on any ports"
        )
    current = await security_groups.groups_of_ports(session, [p.id for p in server_ports])
    if not add and not any(group_id in current[p.id] for p in server_ports):
        raise SecurityGroupNotFound(
            f"Security group {name} not associated with the instance {instance_uuid}"
        )
    for port in server_ports:
        groups = [g for g in current[port.id] if g != group_id] + ([group_id] if add else [])
        await ports.update(session, SERVICE, port, {"security_groups": groups})


# --- what server views show ----------------------------------------------------------------


def addresses_in(connection: Connection, uuids: list[str]) -> dict[str, dict[str, list[Any]]]:
    """Nova's `addresses` of each server: {network name: [fixed, then floating]}, from
    its ports (one query)."""
    found: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    if not uuids:
        return found
    rows = connection.execute(
        select(
            Port.device_id,
            Network.name,
            Port.mac_address,
            IpAllocation.ip_address,
            FloatingIp.floating_ip_address,
        )
        .join(Network, Network.id == Port.network_id)
        .join(IpAllocation, IpAllocation.port_id == Port.id)
        .outerjoin(
            FloatingIp,
            (FloatingIp.fixed_port_id == Port.id)
            & (FloatingIp.fixed_ip_address == IpAllocation.ip_address),
        )
        .where(Port.device_id.in_(uuids))
        .order_by(Port.created_at, IpAllocation.ip_address)
    )
    for device, network, mac, fixed, floating in rows.all():
        entries = found[device].setdefault(network or "", [])
        for address, kind in ((fixed, "fixed"), (floating, "floating")):
            if address:
                entries.append(
                    {
                        "version": 6 if ":" in address else 4,
                        "addr": address,
                        "OS-EXT-IPS:type": kind,
                        "OS-EXT-IPS-MAC:mac_addr": mac,
                    }
                )
    return found


def security_groups_in(connection: Connection, uuids: list[str]) -> dict[str, list[str]]:
    """The names of the groups of each server's ports (one query)."""
    found: dict[str, list[str]] = defaultdict(list)
    if not uuids:
        return found
    rows = connection.execute(
        select(Port.device_id, SecurityGroup.name)
        .join(PortSecurityGroup, PortSecurityGroup.port_id == Port.id)
        .join(SecurityGroup, SecurityGroup.id == PortSecurityGroup.security_group_id)
        .where(Port.device_id.in_(uuids))
        .order_by(SecurityGroup.name)
    )
    for device, name in rows.all():
        if name not in found[device]:
            found[device].append(name)
    return found
