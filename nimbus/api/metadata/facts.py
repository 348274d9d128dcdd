"""Everything the metadata documents say about one instance, read in one transaction.

The instance is found from the request's network and source address only: the port
holding that fixed IP on that network, its `device_id`, a live instance of that uuid.
Nothing the guest sends (headers, paths) can point at another instance.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.cell import Instance, InstanceMetadata
from nimbus.db.models.compute import KeyPair
from nimbus.db.models.network import (
    FloatingIp,
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    Subnet,
)
from nimbus.network.wiring import port_of_address

DEFAULT_ZONE = "nova"


@dataclass(frozen=True)
class Address:
    """One fixed IP of one of the instance's ports, with its subnet's facts."""

    port_id: str
    network_id: str
    ip_address: str
    cidr: str
    gateway_ip: str | None
    dhcp: bool
    dns_nameservers: tuple[str, ...]
    host_routes: tuple[tuple[str, str], ...]

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.ip_address).version


@dataclass(frozen=True)
class Link:
    """One of the instance's ports as network_data.json describes it."""

    port_id: str
    mac_address: str
    mtu: int


@dataclass(frozen=True)
class InstanceFacts:
    uuid: str
    number: int  # the row id, from which the EC2 ids are made as Nova makes them
    name: str
    hostname: str
    project_id: str
    launch_index: int
    availability_zone: str
    reservation_id: str
    image_ref: str
    flavor_name: str
    key_name: str | None
    key_data: str | None
    key_type: str
    user_data: bytes | None
    meta: dict[str, str] = field(default_factory=dict)
    security_groups: tuple[str, ...] = ()
    local_ipv4: str = ""
    public_ipv4: str = ""
    links: tuple[Link, ...] = ()
    addresses: tuple[Address, ...] = ()


def _user_data(stored: str | None) -> bytes | None:
    """The API stores user_data base64-encoded, as Nova does; the guest gets the bytes."""
    if stored is None:
        return None
    try:
        return base64.b64decode(stored, validate=False)
    except (binascii.Error, ValueError):
        return stored.encode()


async def lookup(session: AsyncSession, network_id: str, address: str) -> InstanceFacts | None:
    """The live instance whose port holds `address` on `network_id`, if any."""
    port = await port_of_address(session, network_id, address)
    if port is None or not port.device_id:
        return None
    instance = await session.scalar(
        select(Instance).where(Instance.uuid == port.device_id, Instance.deleted == 0)
    )
    if instance is None:
        return None
    meta = await session.execute(
        select(InstanceMetadata.key, InstanceMetadata.value).where(
            InstanceMetadata.instance_uuid == instance.uuid
        )
    )
    flavor = (instance.flavor or {}).get("current") or {}
    return InstanceFacts(
        uuid=instance.uuid,
        number=instance.id,
        name=instance.display_name,
        hostname=instance.hostname,
        project_id=instance.project_id,
        launch_index=instance.launch_index,
        availability_zone=instance.availability_zone or DEFAULT_ZONE,
        reservation_id=instance.reservation_id or "",
        image_ref=instance.image_ref or "",
        flavor_name=str(flavor.get("name", "")),
        key_name=instance.key_name,
        key_data=instance.key_data,
        key_type=await _key_type(session, instance),
        user_data=_user_data(instance.user_data),
        meta=dict(meta.all()),
        local_ipv4=address,
        **await _network_facts(session, instance.uuid),
    )


async def _key_type(session: AsyncSession, instance: Instance) -> str:
    """The type of the instance's key pair (ssh or x509), as its owner stored it."""
    if not instance.key_name:
        return "ssh"
    found = await session.scalar(
        select(KeyPair.type).where(
            KeyPair.user_id == instance.user_id, KeyPair.name == instance.key_name
        )
    )
    return found or "ssh"


async def _network_facts(session: AsyncSession, uuid: str) -> dict[str, Any]:
    """The instance's ports (links), their addresses, first floating IP, group names."""
    query = select(Port).where(Port.device_id == uuid).order_by(Port.created_at)
    ports = list((await session.scalars(query)).all())
    port_ids = [p.id for p in ports]
    mtu_query = select(Network.id, Network.mtu).where(Network.id.in_({p.network_id for p in ports}))
    mtus: dict[str, int] = {row.id: row.mtu for row in await session.execute(mtu_query)}
    floating = await session.scalar(
        select(FloatingIp.floating_ip_address)
        .where(FloatingIp.fixed_port_id.in_(port_ids))
        .order_by(FloatingIp.floating_ip_address)
    )
    groups = await session.scalars(
        select(SecurityGroup.name)
        .join(PortSecurityGroup, PortSecurityGroup.security_group_id == SecurityGroup.id)
        .where(PortSecurityGroup.port_id.in_(port_ids))
    )
    return {
        "links": tuple(Link(p.id, p.mac_address, mtus.get(p.network_id, 1500)) for p in ports),
        "addresses": await _addresses(session, port_ids),
        "public_ipv4": floating or "",
        "security_groups": tuple(sorted(set(groups.all()))),
    }


async def _addresses(session: AsyncSession, port_ids: list[str]) -> tuple[Address, ...]:
    query = (
        select(IpAllocation, Subnet)
        .join(Subnet, Subnet.id == IpAllocation.subnet_id)
        .where(IpAllocation.port_id.in_(port_ids))
    )
    found = [
        Address(
            port_id=allocation.port_id,
            network_id=allocation.network_id,
            ip_address=allocation.ip_address,
            cidr=subnet.cidr,
            gateway_ip=subnet.gateway_ip,
            dhcp=subnet.enable_dhcp,
            dns_nameservers=tuple(subnet.dns_nameservers or ()),
            host_routes=tuple((r["destination"], r["nexthop"]) for r in subnet.host_routes or ()),
        )
        for allocation, subnet in (await session.execute(query)).all()
    ]
    order = {port_id: i for i, port_id in enumerate(port_ids)}
    return tuple(sorted(found, key=lambda a: (order[a.port_id], a.version, a.ip_address)))
