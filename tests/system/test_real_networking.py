"""The networking issue's acceptance, as a new user would try it: `nimbus up --driver
qemu` with its data plane, the real `openstack` CLI building net1 behind a router with
a `web` group, and real QEMU guests proving every claim with real packets.

Three boots in all: vm1 (net1, group `web`, key k1, no config drive), vm2 (net1) whose
user_data asks vm1 for its page and sends a line to a listener on the host, and vm3 in
another project's network, which tries vm1 too. QEMU, the agent's bridges, namespaces,
dnsmasq and nft tables go at the end, whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nimbus.config import Settings
from nimbus.guest import IMAGE_NAME
from nimbus.services.network import clear, dataplane_unavailable, options_for
from tests.cli import as_json, openstack
from tests.processes import Running, free_offset, rc_environment, start
from tests.system.qemu_support import BOOT_TIMEOUT, kill_all, needs_qemu

pytestmark = [pytest.mark.system, needs_qemu]

#: vm2's and vm3's user_data: ask PEER for its page (TRIES times), then send a line to
#: the host's listener (its source address shows the SNAT). busybox nc, since busybox
#: wget crashes in the guest's static root.
PROBE_USER_DATA = """#!/bin/sh
printf 'snat-probe from %s\\n' "$(hostname)" | nc -w 3 {host} {port} && echo "snat-probe: sent"
answer=""
for i in $(seq 1 {tries}); do
    answer=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {peer} 80 | head -n 1)
    [ -n "$answer" ] && break
    sleep 1
done
echo "peer-http: ${{answer:-unreachable}}"
"""
VM1_USER_DATA = """#!/bin/sh
echo "user-data-ran on $(hostname)"
"""
DHCP_LINE = re.compile(r"nimbus-guest: eth0 ip=(10\.10\.0\.\d+)/24")
SSH = ("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null")
SSH += ("-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR")


class Listener:
    """A TCP listener on the host that notes who connected (the SNAT check)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("0.0.0.0", 0))
        self.port = self.sock.getsockname()[1]
        self.peers: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, (address, _) = self.sock.accept()
            except OSError:
                return
            self.peers.append(address)
            conn.close()

    def close(self) -> None:
        self.sock.close()


@dataclass
class Cloud:
    env: dict[str, str]
    data_dir: Path
    workdir: Path
    #: Third octet of this cloud's external range 198.19.<octet>.0/24.
    octet: int = field(default_factory=lambda: random.randrange(100, 250))
    figures: dict[str, float] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        return openstack(env or self.env, *args).stdout

    def json(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return as_json(env or self.env, *args)

    def console(self, server: str, env: dict[str, str] | None = None) -> str:
        return self.cli("console", "log", "show", server, env=env)

    def wait_console(
        self, server: str, pattern: str, env: dict[str, str] | None = None
    ) -> re.Match[str]:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while not (found := re.search(pattern, console := self.console(server, env))):
            assert time.monotonic() < deadline, f"{server}: no {pattern!r}:\n{console}"
            time.sleep(1)
        return found

    @property
    def host_address(self) -> str:
        return f"198.19.{self.octet}.1"


def connects(address: str, port: int, timeout: float = 1.5) -> bool:
    try:
        socket.create_connection((address, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def http_status(address: str) -> str:
    with socket.create_connection((address, 80), timeout=2) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return conn.recv(100).decode(errors="replace").splitlines()[0]


def wait_for(check: Any, what: str, timeout: float = 30.0, step: float = 0.05) -> float:
    """Seconds until `check()` held."""
    start_at = time.monotonic()
    while not check():
        assert time.monotonic() - start_at < timeout, f"{what}: not within {timeout:.0f} s"
        time.sleep(step)
    return time.monotonic() - start_at


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, guest_image: Path) -> Iterator[Cloud]:
    reason = asyncio.run(dataplane_unavailable())
    if reason is not None:
        pytest.skip(f"no network data plane here: {reason}")
    workdir = tmp_path_factory.mktemp("real-networking")
    data_dir = workdir / "data"
    running: Running | None = None
    try:
        running = start(
            ["up", "--data-dir", str(data_dir), "--driver", "qemu", "--no-config-drive"],
            offset=free_offset(),
        )
        made = Cloud(rc_environment(data_dir / "adminrc"), data_dir, workdir)
        deadline = time.monotonic() + 300
        while not any(
            image["Name"] == IMAGE_NAME and image["Status"] == "active"
            for image in made.json("image", "list")
        ):
            assert time.monotonic() < deadline, "the guest image was not registered"
            time.sleep(1)
        yield made
    finally:
        try:
            if running is not None:
                assert running.stop() == 0
        finally:
            kill_all(data_dir / "instances")
            asyncio.run(clear(options_for(Settings(data_dir=data_dir))))


def _external_network(cloud: Cloud) -> None:
    """`public` with a range of this test's own: the machine's one 172.24.4.1 may belong
    to another cloud (docs/network-agent.md)."""
    cloud.cli("network", "delete", "public")
    cloud.cli("network", "create", "--external", "public")
    cloud.cli(
        *("subnet", "create", "--network", "public", "--no-dhcp"),
        *("--subnet-range", f"198.19.{cloud.octet}.0/24", "--gateway", cloud.host_address),
        "public-subnet",
    )


def _other_project(cloud: Cloud) -> dict[str, str]:
    """The environment of a member of project `other`."""
    cloud.cli("project", "create", "other")
    cloud.cli("user", "create", "--project", "other", "--password", "other-pw", "u2")
    cloud.cli("role", "add", "--project", "other", "--user", "u2", "member")
    return other_env(cloud)


def other_env(cloud: Cloud) -> dict[str, str]:
    return {**cloud.env, "OS_USERNAME": "u2", "OS_PASSWORD": "other-pw", "OS_PROJECT_NAME": "other"}


def _boot(
    cloud: Cloud, name: str, script: str, *args: str, env: dict[str, str] | None = None
) -> str:
    path = cloud.workdir / f"{name}.sh"
    path.write_text(script)
    created = cloud.json(
        *("server", "create", "--flavor", "m1.tiny", "--image", IMAGE_NAME),
        *(*args, "--user-data", str(path), "--wait", name),
        env=env,
    )
    assert created["status"] == "ACTIVE", created
    return created["id"]


@pytest.fixture(scope="module")
def world(cloud: Cloud) -> Iterator[Listener]:
    """The issue's CLI steps, vm1 with a floating IP, then vm2 and vm3 booting."""
    listener = Listener()
    try:
        _external_network(cloud)
        for args in (
            ("network", "create", "net1"),
            ("subnet", "create", "--network", "net1", "--subnet-range", "10.10.0.0/24", "sub1"),
            ("router", "create", "r1"),
            ("router", "set", "--external-gateway", "public", "r1"),
            ("router", "add", "subnet", "r1", "sub1"),
            ("security", "group", "create", "web"),
        ):
            cloud.cli(*args)
        rule = cloud.json(
            *("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80"),
            *("--remote-ip", "0.0.0.0/0", "web"),
        )
        cloud.ids["http-rule"] = rule["id"]
        key = cloud.workdir / "k1"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        cloud.cli("keypair", "create", "--public-key", f"{key}.pub", "k1")
        began = time.monotonic()
        cloud.ids["vm1"] = _boot(
            cloud,
            "vm1",
            VM1_USER_DATA,
            *("--network", "net1", "--security-group", "web", "--key-name", "k1"),
        )
        cloud.figures["create --wait"] = time.monotonic() - began
        cloud.wait_console("vm1", DHCP_LINE.pattern)
        cloud.figures["create → DHCP address on the console"] = time.monotonic() - began
        addresses = cloud.json("server", "show", "vm1")["addresses"]
        cloud.ids["vm1-ip"] = addresses["net1"][0]
        probe = {"host": cloud.host_address, "port": listener.port, "peer": cloud.ids["vm1-ip"]}
        cloud.ids["vm2"] = _boot(
            cloud, "vm2", PROBE_USER_DATA.format(tries=60, **probe), "--network", "net1"
        )
        other = _other_project(cloud)
        for args in (
            ("network", "create", "net2"),
            ("subnet", "create", "--network", "net2", "--subnet-range", "10.30.0.0/24", "sub2"),
            ("router", "create", "r2"),
            ("router", "set", "--external-gateway", "public", "r2"),
            ("router", "add", "subnet", "r2", "sub2"),
        ):
            cloud.cli(*args, env=other)
        _boot(
            cloud, "vm3", PROBE_USER_DATA.format(tries=5, **probe), "--network", "net2", env=other
        )
        yield listener
    finally:
        listener.close()
        print("\nfigures:", {k: round(v, 2) for k, v in cloud.figures.items()})


def test_vm1_got_its_address_by_dhcp_and_its_data_from_the_metadata_service(
    cloud: Cloud, world: Listener
) -> None:
    address = cloud.wait_console("vm1", DHCP_LINE.pattern).group(1)
    assert address == cloud.ids["vm1-ip"]
    found = cloud.wait_console("vm1", r"metadata from (\S+ \S+): instance-id=(\S+) hostname=vm1")
    assert found.groups() == ("metadata service", cloud.ids["vm1"])
    cloud.wait_console("vm1", "user-data-ran on vm1")
    shown = cloud.json("server", "show", "vm1")
    assert shown["security_groups"] == [{"name": "web"}]
    ports = cloud.json("port", "list", "--server", "vm1", "--long")
    assert [p["Status"] for p in ports] == ["ACTIVE"], ports


def test_floating_ip_answers_http_and_ssh_only_where_rules_allow(
    cloud: Cloud, world: Listener
) -> None:
    cloud.wait_console("vm1", "nimbus-guest: ready")
    fip = cloud.json("floating", "ip", "create", "public")["floating_ip_address"]
    cloud.ids["fip"] = fip
    began = time.monotonic()
    cloud.cli("server", "add", "floating", "ip", "vm1", fip)
    returned = time.monotonic() - began
    answered = wait_for(lambda: connects(fip, 80, 0.3), "the floating IP answering on tcp/80")
    cloud.figures["`server add floating ip` (CLI) → tcp/80 answers"] = returned + answered
    cloud.figures["CLI returned → tcp/80 answers"] = answered
    assert http_status(fip).startswith("HTTP/1.")
    assert fip in cloud.json("server", "show", "vm1")["addresses"]["net1"]
    # The guest listens on 22 (dropbear), but no rule allows it yet.
    assert not connects(fip, 22)
    cloud.cli(
        *("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22"),
        *("--remote-ip", "0.0.0.0/0", "web"),
    )
    key = str(cloud.workdir / "k1")
    wait_for(lambda: connects(fip, 22, 0.3), "tcp/22 once allowed", timeout=5)
    ran = subprocess.run(
        ["ssh", "-i", key, *SSH, f"root@{fip}", "hostname; cat /sys/class/net/eth0/address"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    port = cloud.json("port", "list", "--server", "vm1", "-c", "MAC Address")[0]
    assert ran.stdout.split() == ["vm1", port["MAC Address"]]


def test_guests_of_net1_reach_each_other_and_the_outside_through_snat(
    cloud: Cloud, world: Listener
) -> None:
    answer = cloud.wait_console("vm2", r"peer-http: (.*)").group(1)
    assert answer.startswith("HTTP/1."), answer
    r1 = cloud.json("router", "show", "r1")["external_gateway_info"]
    snat = r1["external_fixed_ips"][0]["ip_address"]
    assert snat in world.peers, world.peers
    assert cloud.ids["vm1-ip"] not in world.peers


def test_a_guest_of_another_project_cannot_reach_them(cloud: Cloud, world: Listener) -> None:
    other = other_env(cloud)
    cloud.wait_console("vm3", r"snat-probe: sent", env=other)
    assert cloud.wait_console("vm3", r"peer-http: (.*)", env=other).group(1) == "unreachable"
    assert len(set(world.peers)) == 2, world.peers  # r1's address and r2's


def test_an_interface_is_hot_plugged_and_unplugged(cloud: Cloud, world: Listener) -> None:
    fip, key = cloud.ids["fip"], str(cloud.workdir / "k1")
    cloud.cli("server", "add", "network", "vm1", "net1")
    ports = cloud.json("port", "list", "--server", "vm1")
    assert len(ports) == 2
    (added,) = [p for p in ports if p["Fixed IP Addresses"][0]["ip_address"] != cloud.ids["vm1-ip"]]

    def guest_macs() -> str:
        return subprocess.run(
            ["ssh", "-i", key, *SSH, f"root@{fip}", "cat /sys/class/net/*/address"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    wait_for(lambda: added["MAC Address"] in guest_macs(), "the NIC in the guest", 30, 1)
    cloud.cli("server", "remove", "port", "vm1", added["ID"])
    assert added["MAC Address"] not in guest_macs()
    assert len(cloud.json("port", "list", "--server", "vm1")) == 1
    assert openstack(cloud.env, "port", "show", added["ID"], ok=False).returncode != 0


def test_deleting_the_rule_closes_http_within_a_second(cloud: Cloud, world: Listener) -> None:
    fip = cloud.ids["fip"]
    assert connects(fip, 80)
    cloud.cli("security", "group", "rule", "delete", cloud.ids["http-rule"])
    closed = wait_for(lambda: not connects(fip, 80, 0.2), "tcp/80 closing", timeout=5)
    cloud.figures["rule delete → tcp/80 closed"] = closed
    assert closed < 1.0


def test_deleting_a_server_deletes_its_ports(cloud: Cloud, world: Listener) -> None:
    vm2 = cloud.ids["vm2"]
    assert len(cloud.json("port", "list", "--device-id", vm2)) == 1
    cloud.cli("server", "delete", "--wait", "vm2")
    assert cloud.json("port", "list", "--device-id", vm2) == []
    assert not os.path.exists(cloud.data_dir / "instances" / vm2)
