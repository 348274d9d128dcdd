"""A stand-in for the network agent of another host: run inside a "host" namespace
(`ip netns exec HOST python -m tests.netdev.host_agent SPEC`), it converges that
namespace's bridges to one VXLAN network with the given guest ports."""

from __future__ import annotations

import asyncio
import json
import sys

from nimbus.netdev.bridges import Bridges, VxlanConfig
from nimbus.netdev.model import Network, Port, Topology
from nimbus.netdev.names import Names


async def main(spec: dict) -> None:
    network = Network(spec["network_id"], "vxlan", spec["vni"], mtu=1450)
    ports = tuple(Port(p["id"], network.id, p["mac"]) for p in spec["ports"])
    vxlan = VxlanConfig(spec["local_ip"], tuple(spec["remote_ips"]))
    bridges = Bridges(Names(spec["tag"]), vxlan=vxlan)
    await bridges.sync(Topology(networks=(network,), ports=ports))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
