"""Routers as network namespaces: `qr-` interfaces into tenant bridges holding the gateway
addresses, a `qg-` interface into the external bridge, a default route, static routes,
forwarding, and an nftables table for SNAT and floating IPs."""

from __future__ import annotations

from nimbus.netdev import ip, nft
from nimbus.netdev.bridges import plug_namespace_port
from nimbus.netdev.model import ROUTER_GATEWAY, FloatingIP, Port, Router, Topology
from nimbus.netdev.names import ROUTER, Names, inner

STATIC = "static"  # the routing protocol tag of our routes, so we can find them again


class Routers:
    """Converges the router namespaces of one host."""

    def __init__(self, names: Names) -> None:
        self.names = names

    async def sync(self, topology: Topology) -> None:
        wanted_links: set[str] = set()
        for router in topology.routers:
            wanted_links |= await self._router(router, topology)
        wanted_namespaces = {self.names.router_namespace(r.id) for r in topology.routers}
        prefix = self.names.router_namespace("")
        for namespace in sorted(await ip.namespaces()):
            if namespace.startswith(prefix) and namespace not in wanted_namespaces:
                await ip.delete_namespace(namespace)
        for name in sorted(await ip.links()):
            if self.names.owns(name, ROUTER) and name not in wanted_links:
                await ip.delete_link(name)

    async def _router(self, router: Router, topology: Topology) -> set[str]:
        """Converge one router; the host-side veth ends it uses."""
        namespace = self.names.router_namespace(router.id)
        await ip.ensure_namespace(namespace)
        await ip.sysctl(namespace, "net.ipv4.ip_forward", "1")
        ports = topology.router_ports(router.id)
        gateway = next((p for p in ports if p.device_owner == ROUTER_GATEWAY), None)
        floating = sorted(
            (f for f in topology.floating_ips if f.router_id == router.id),
            key=lambda f: f.floating_ip_address,
        )
        for port in ports:
            addresses = {topology.interface(fixed) for fixed in port.fixed_ips}
            if port is gateway:
                addresses |= {f"{f.floating_ip_address}/32" for f in floating}
            await plug_namespace_port(
                self.names,
                topology.network(port.network_id),
                port,
                self.names.link(ROUTER, port.id),
                self._inner(port),
                namespace,
                addresses,
            )
        wanted_inner = {self._inner(port) for port in ports}
        for name in sorted(await ip.links(namespace)):
            if name.startswith(("qr-", "qg-")) and name not in wanted_inner:
                await ip.delete_link(name, netns=namespace)
        await self._routes(namespace, router, gateway, topology)
        await nft.apply(self._nat(router, gateway, floating, topology), netns=namespace)
        return {self.names.link(ROUTER, port.id) for port in ports}

    @staticmethod
    def _inner(port: Port) -> str:
        return inner("qg-" if port.device_owner == ROUTER_GATEWAY else "qr-", port.id)

    async def _routes(
        self, namespace: str, router: Router, gateway: Port | None, topology: Topology
    ) -> None:
        """The default route via the external subnet's gateway plus the router's static
        routes, all tagged `proto static`; any other static route is removed."""
        wanted: dict[str, list[str]] = {}
        if gateway is not None:
            for fixed in gateway.fixed_ips:
                subnet = topology.subnet(fixed.subnet_id)
                if subnet.gateway_ip and subnet.ip_version == 4:
                    wanted["default"] = ["via", subnet.gateway_ip, "dev", self._inner(gateway)]
        for destination, nexthop in router.routes:
            wanted[destination] = ["via", nexthop]
        present = await ip.ip_json("route", "show", "proto", STATIC, netns=namespace)
        for route in present:
            if route["dst"] not in wanted:
                await ip.ip("route", "del", route["dst"], "proto", STATIC, netns=namespace)
        for destination, how in wanted.items():
            await ip.ip("route", "replace", destination, *how, "proto", STATIC, netns=namespace)

    def _nat(
        self,
        router: Router,
        gateway: Port | None,
        floating: list[FloatingIP],
        topology: Topology,
    ) -> str:
        """The router's NAT table: DNAT/SNAT pairs per floating IP, then SNAT of everything
        else leaving by the gateway to the router's external address."""
        name = self.names.table("router")
        if gateway is None:
            return nft.replace_table("ip", name, None)
        qg = self._inner(gateway)
        external = next(
            (
                f.ip_address
                for f in gateway.fixed_ips
                if topology.subnet(f.subnet_id).ip_version == 4
            ),
            None,
        )
        dnat = [f"ip daddr {f.floating_ip_address} dnat to {f.fixed_ip_address}" for f in floating]
        snat = [
            f'oifname "{qg}" ip saddr {f.fixed_ip_address} snat to {f.floating_ip_address}'
            for f in floating
        ]
        if router.enable_snat and external:
            snat.append(f'oifname "{qg}" snat to {external}')
        body = "\n".join(
            [
                "chain prerouting {",
                "type nat hook prerouting priority dstnat; policy accept;",
                *dnat,
                "}",
                "chain output {",
                "type nat hook output priority -100; policy accept;",
                *dnat,
                "}",
                "chain postrouting {",
                "type nat hook postrouting priority srcnat; policy accept;",
                *snat,
                "}",
            ]
        )
        return nft.replace_table("ip", name, body)
