"""Guests played by network namespaces, and cleanup of everything a test tag owns."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass

import pytest

from nimbus.netdev.model import FixedIP, Port

BUSYBOX = "busybox"
_MISSING = [
    tool for tool in ("ip", "bridge", "nft", "dnsmasq", "busybox") if not shutil.which(tool)
]
# Every module that touches the host's namespaces, links and nftables sets this.
HOST = [
    pytest.mark.system,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: namespaces, links, nftables"),
    pytest.mark.skipif(bool(_MISSING), reason=f"needs {', '.join(_MISSING)} on this host"),
]


def on_host(test):
    """HOST's marks on one test of a module that is otherwise pure."""
    for mark in HOST:
        test = mark(test)
    return test


def new_id() -> str:
    return str(uuid.uuid4())


def new_tag() -> str:
    """A tag no other test run (nor the real agent's `nb`) shares."""
    return "z" + secrets.token_hex(2)


def mac(number: int) -> str:
    return f"fa:16:3e:{secrets.randbelow(256):02x}:{number >> 8 & 255:02x}:{number & 255:02x}"


def sh(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)


async def ash(*argv: str, timeout: float = 30) -> tuple[int, str]:
    """Run argv without blocking the loop (the metadata listener lives on it)."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, out.decode(errors="replace")


def port(
    network_id: str,
    subnet_id: str,
    address: str,
    number: int,
    *,
    groups: tuple[str, ...] = (),
    owner: str = "compute:nova",
    device_id: str = "",
) -> Port:
    return Port(
        id=new_id(),
        network_id=network_id,
        mac_address=mac(number),
        fixed_ips=(FixedIP(subnet_id, address),),
        device_owner=owner,
        device_id=device_id,
        security_group_ids=groups,
    )


@dataclass
class Guest:
    """A namespace whose eth0 is the far end of a veth named as the port's tap, so the
    library plugs it like the tap QEMU would hold."""

    namespace: str
    port: Port

    @property
    def ip(self) -> str:
        return self.port.fixed_ips[0].ip_address

    def create(self, tap: str, *, host_netns: str | None = None) -> None:
        """The namespace and veth; the caller configures addresses (static or DHCP)."""
        sh("ip", "netns", "add", self.namespace)
        in_host = ("ip", "-n", host_netns) if host_netns else ("ip",)
        sh(
            *in_host,
            "link",
            "add",
            tap,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            self.namespace,
        )
        self.ip_("link", "set", "lo", "up")
        self.ip_("link", "set", "eth0", "address", self.port.mac_address, "up")

    def configure(self, prefixlen: int, gateway: str | None) -> None:
        self.ip_("addr", "add", f"{self.ip}/{prefixlen}", "dev", "eth0")
        if gateway:
            self.ip_("route", "add", "default", "via", gateway)

    def ip_(self, *args: str) -> str:
        return sh("ip", "-n", self.namespace, *args).stdout

    def run(self, *argv: str, check: bool = False, timeout: float = 30):
        return sh("ip", "netns", "exec", self.namespace, *argv, check=check, timeout=timeout)

    def ping(self, address: str, *extra: str) -> bool:
        return self.run(BUSYBOX, "ping", "-c", "1", "-W", "1", *extra, address).returncode == 0

    def serve_http(self, *ports: int) -> None:
        """busybox httpd on each port, daemonised (killed with the namespace's pids)."""
        for number in ports:
            self.run(BUSYBOX, "httpd", "-p", str(number), "-h", "/tmp", check=True)


def tcp_connects(address: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a TCP connection from the host to address:port is accepted within `timeout`."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def purge(tag: str) -> None:
    """Delete every namespace (killing its processes), link and nft table named by `tag`."""
    namespaces = json.loads(sh("ip", "-json", "netns", "list").stdout or "[]")
    for entry in namespaces:
        name = entry["name"]
        if name.startswith(tag):
            for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), 9)
            sh("ip", "netns", "del", name, check=False)
    links = json.loads(sh("ip", "-json", "link", "show").stdout or "[]")
    for link in links:
        if link["ifname"].startswith(tag):
            sh("ip", "link", "del", link["ifname"], check=False)
    for family in ("bridge", "inet"):
        sh("nft", "delete", "table", family, f"{tag}_sg", check=False)
