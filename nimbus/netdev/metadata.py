"""The data-plane half of the metadata service.

In every router namespace, 169.254.169.254:80 arriving on a `qr-` interface is DNATed to
127.0.0.1:PORT, where this process listens (a socket opened inside the namespace). A
network without a router gets the same in its DHCP namespace (its guests learn a route to
169.254.169.254 via the DHCP port from option 121). Each request goes to the given async
handler with the guest's source address and the network (and router) it came through; the
handler (the metadata API) finds the instance by (network, fixed IP) → port → device_id.
The guest cannot spoof that pair: anti-spoofing pins a port's source addresses, and
overlapping subnets cannot share one router.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

from nimbus.netdev import ip, nft
from nimbus.netdev.model import METADATA_ADDRESS, ROUTER_INTERFACE, Topology
from nimbus.netdev.names import Names
from nimbus.netdev.netns import listen_in

LOG = logging.getLogger(__name__)
MAX_HEADER_BYTES = 16384
MAX_BODY_BYTES = 65536


@dataclass(frozen=True)
class MetadataRequest:
    router_id: str | None  # None when served from an isolated network's DHCP namespace
    network_id: str | None  # None when the source is on none of the site's subnets
    remote_ip: str
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class MetadataResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


Handler = Callable[[MetadataRequest], Awaitable[MetadataResponse]]


@dataclass(frozen=True)
class Site:
    """A namespace where guests' metadata requests arrive: a router's or a DHCP server's."""

    namespace: str
    interfaces: str  # nft wildcard of the interfaces guests' requests arrive by
    router_id: str | None
    subnets: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]

    def network_of(self, remote_ip: str) -> str | None:
        address = ipaddress.ip_address(remote_ip)
        return next((net_id for cidr, net_id in self.subnets if address in cidr), None)


class MetadataProxy:
    """Listeners and DNAT rules in the router and isolated DHCP namespaces of one host."""

    def __init__(self, names: Names, handler: Handler, *, port: int = 9697) -> None:
        self.names = names
        self.handler = handler
        self.port = port
        self._servers: dict[str, asyncio.Server] = {}
        self._sites: dict[str, Site] = {}

    def sites(self, topology: Topology) -> list[Site]:
        """Every router, and every network with DHCP but no router."""
        sites = [
            Site(
                self.names.router_namespace(router.id),
                "qr-*",
                router.id,
                tuple(
                    (topology.subnet(fixed.subnet_id).network, port.network_id)
                    for port in topology.router_ports(router.id)
                    if port.device_owner == ROUTER_INTERFACE
                    for fixed in port.fixed_ips
                ),
            )
            for router in topology.routers
        ]
        sites += [
            Site(
                self.names.dhcp_namespace(network.id),
                "ns-*",
                None,
                tuple((subnet.network, network.id) for subnet in network.dhcp_subnets),
            )
            for network in topology.networks
            if topology.dhcp_port(network.id) and topology.is_isolated(network.id)
        ]
        return sites

    async def sync(self, topology: Topology) -> None:
        """Serve every site of `topology` (whose namespaces exist by now), stop the rest."""
        sites = {site.namespace: site for site in self.sites(topology)}
        for namespace in sorted(set(self._servers) - set(sites)):
            await self._stop(namespace)
        for namespace, site in sorted(sites.items()):
            self._sites[namespace] = site
            await ip.sysctl(namespace, "net.ipv4.conf.all.route_localnet", "1")
            await nft.apply(self._dnat(site), netns=namespace)
            if namespace not in self._servers:
                sock = await listen_in(namespace, "127.0.0.1", self.port)
                self._servers[namespace] = await asyncio.start_server(
                    lambda r, w, ns=namespace: self._serve(ns, r, w), sock=sock
                )

    async def close(self) -> None:
        """Stop every listener (the DNAT rules stay with their namespaces)."""
        for namespace in sorted(self._servers):
            await self._stop(namespace)

    async def _stop(self, namespace: str) -> None:
        server = self._servers.pop(namespace)
        self._sites.pop(namespace, None)
        server.close()
        await server.wait_closed()

    def _dnat(self, site: Site) -> str:
        body = "\n".join(
            [
                "chain prerouting {",
                "type nat hook prerouting priority dstnat - 10; policy accept;",
                f'iifname "{site.interfaces}" ip daddr {METADATA_ADDRESS} tcp dport 80 '
                f"dnat to 127.0.0.1:{self.port}",
                "}",
            ]
        )
        return nft.replace_table("ip", self.names.table("metadata"), body)

    async def _serve(
        self, namespace: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """One HTTP/1.x request per connection (guests' metadata clients ask once)."""
        try:
            request = await self._read(self._sites[namespace], reader, writer)
            response = (
                await self.handler(request) if request else MetadataResponse(400, b"Bad Request")
            )
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        except Exception:
            LOG.exception("metadata handler failed in %s", namespace)
            response = MetadataResponse(500, b"Internal Server Error")
        reason = HTTPStatus(response.status).phrase
        head = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + response.body)
        try:
            await writer.drain()
        finally:
            writer.close()

    async def _read(
        self, site: Site, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> MetadataRequest | None:
        raw = await reader.readuntil(b"\r\n\r\n")
        if len(raw) > MAX_HEADER_BYTES:
            return None
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if not 0 <= length <= MAX_BODY_BYTES:
            return None
        body = await reader.readexactly(length) if length else b""
        remote_ip = writer.get_extra_info("peername")[0]
        return MetadataRequest(
            router_id=site.router_id,
            network_id=site.network_of(remote_ip),
            remote_ip=remote_ip,
            method=parts[0],
            path=parts[1],
            headers=headers,
            body=body,
        )
