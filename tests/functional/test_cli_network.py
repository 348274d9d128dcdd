"""The Network API as a user drives it: the real `openstack` CLI against `nimbus up`,
the issue's acceptance steps up to the server boot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli import as_json, openstack
from tests.processes import Running, free_offset, rc_environment, start


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("cli-network-cloud")
    running: Running = start(
        ["up", "--driver", "fake", "--data-dir", str(data_dir)], offset=free_offset()
    )
    try:
        yield rc_environment(data_dir / "adminrc")
    finally:
        assert running.stop() == 0


def test_network_acceptance_steps(admin: dict[str, str]) -> None:
    network = as_json(admin, "network", "create", "net1")
    assert network["status"] == "ACTIVE" and network["provider:network_type"] == "vxlan"
    subnet = as_json(
        admin, "subnet", "create", "--network", "net1", "--subnet-range", "10.10.0.0/24", "sub1"
    )
    assert subnet["gateway_ip"] == "10.10.0.1" and subnet["enable_dhcp"] is True
    assert subnet["allocation_pools"] == [{"start": "10.10.0.2", "end": "10.10.0.254"}]

    router = as_json(admin, "router", "create", "r1")
    openstack(admin, "router", "set", "--external-gateway", "public", "r1")
    openstack(admin, "router", "add", "subnet", "r1", "sub1")
    shown = as_json(admin, "router", "show", "r1")
    gateway = shown["external_gateway_info"]
    assert gateway["enable_snat"] is True
    assert gateway["external_fixed_ips"][0]["ip_address"].startswith("172.24.4.")
    router_ports = as_json(admin, "port", "list", "--router", "r1")
    addresses = {p["Fixed IP Addresses"][0]["ip_address"] for p in router_ports}
    assert addresses == {"10.10.0.1", gateway["external_fixed_ips"][0]["ip_address"]}

    group = as_json(admin, "security", "group", "create", "web")
    web_80 = ("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80")
    web_80 += ("--remote-ip", "0.0.0.0/0", "web")
    rule = as_json(admin, *web_80)
    assert rule["port_range_min"] == rule["port_range_max"] == 80
    assert rule["security_group_id"] == group["id"]
    failed = openstack(admin, *web_80, ok=False)  # the same rule again
    assert failed.returncode != 0 and "already exists" in failed.stderr

    port = as_json(admin, "port", "create", "--network", "net1", "--security-group", "web", "p1")
    assert port["status"] == "DOWN" and port["mac_address"].startswith("fa:16:3e:")
    names = [p["Name"] for p in as_json(admin, "port", "list", "--network", "net1")]
    assert "p1" in names

    fip = as_json(admin, "floating", "ip", "create", "public")
    assert fip["floating_ip_address"].startswith("172.24.4.")
    openstack(admin, "floating", "ip", "set", "--port", "p1", fip["floating_ip_address"])
    associated = as_json(admin, "floating", "ip", "show", fip["floating_ip_address"])
    assert associated["port_id"] == port["id"] and associated["router_id"] == router["id"]
    assert associated["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]

    quota = {row["Resource"]: row["Limit"] for row in as_json(admin, "quota", "show", "--network")}
    assert quota["networks"] == 100 and quota["ports"] == 500, quota

    failed = openstack(admin, "network", "delete", "net1", ok=False)
    assert failed.returncode != 0
    assert any(n["Name"] == "net1" for n in as_json(admin, "network", "list"))
    failed = openstack(
        admin,
        "subnet",
        "create",
        "--network",
        "net1",
        "--subnet-range",
        "10.10.0.128/25",
        "overlap",
        ok=False,
    )
    assert failed.returncode != 0 and "overlaps" in failed.stderr
