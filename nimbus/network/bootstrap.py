"""The external network a fresh cloud starts with, as devstack makes it.

`public` (flat, physical network "public", router:external) with the subnet
172.24.4.0/24 (gateway 172.24.4.1, no DHCP), owned by the admin project: routers
get their gateways and floating IPs their addresses there. It is created when the
cloud has no external network, so a start after the admin removed it and made
another external network leaves theirs alone.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.network import Network
from nimbus.network import networks, subnets
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import SERVICE

PUBLIC_NAME = "public"
PUBLIC_CIDR = "172.24.4.0/24"


async def ensure_public_network(
    session: AsyncSession, options: NetworkOptions, project_id: str
) -> Network | None:
    """Create `public` and its subnet unless an external network exists; the new one."""
    if await session.scalar(select(Network.id).where(Network.external).limit(1)):
        return None
    network = await networks.create(
        session,
        options,
        project_id=project_id,
        network_type="flat",
        physical_network=PUBLIC_NAME,
        name=PUBLIC_NAME,
        external=True,
    )
    await subnets.create(
        session,
        SERVICE,
        options,
        network_id=network.id,
        project_id=project_id,
        ip_version=4,
        cidr=PUBLIC_CIDR,
        name="public-subnet",
        enable_dhcp=False,
    )
    return network
