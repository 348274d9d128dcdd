"""The compute API's catalog resources as a new user drives them: the real
`openstack` CLI against a real `nimbus up` (flavors, key pairs, server groups,
aggregates and zones, quotas and limits, services and hypervisors)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli import as_json, openstack
from tests.processes import Running, free_offset, rc_environment, start


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("cli-compute-cloud")
    running: Running = start(
        ["up", "--data-dir", str(data_dir), "--driver", "fake"], offset=free_offset()
    )
    try:
        yield rc_environment(data_dir / "adminrc")
    finally:
        assert running.stop() == 0


def test_flavors(admin: dict[str, str]) -> None:
    created = as_json(
        admin,
        "flavor",
        "create",
        "--id",
        "auto",
        "--ram",
        "512",
        "--disk",
        "10",
        "--vcpus",
        "1",
        "--public",
        "small-server",
    )
    assert (created["ram"], created["disk"], created["vcpus"]) == (512, 10, 1)
    assert len(created["id"]) == 36 and created["os-flavor-access:is_public"] is True
    names = {f["Name"] for f in as_json(admin, "flavor", "list")}
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge", "small-server"} <= names
    openstack(admin, "flavor", "set", "--property", "hw:cpu_policy=dedicated", "small-server")
    shown = as_json(admin, "flavor", "show", "small-server")
    assert shown["id"] == created["id"] and shown["properties"] == {"hw:cpu_policy": "dedicated"}
    openstack(admin, "flavor", "delete", "small-server")


def test_keypairs(admin: dict[str, str]) -> None:
    created = openstack(admin, "keypair", "create", "k1").stdout
    assert "PRIVATE KEY-----" in created
    (listed,) = [k for k in as_json(admin, "keypair", "list") if k["Name"] == "k1"]
    shown = as_json(admin, "keypair", "show", "k1")
    assert shown["fingerprint"] == listed["Fingerprint"] and shown["type"] == "ssh"
    openstack(admin, "keypair", "delete", "k1")
    assert all(k["Name"] != "k1" for k in as_json(admin, "keypair", "list"))


def test_server_groups(admin: dict[str, str]) -> None:
    group = as_json(admin, "server", "group", "create", "--policy", "anti-affinity", "g1")
    assert group["policy"] == "anti-affinity" and group["members"] == []
    assert [g["Name"] for g in as_json(admin, "server", "group", "list")] == ["g1"]
    openstack(admin, "server", "group", "delete", "g1")
    assert as_json(admin, "server", "group", "list") == []


def test_aggregates_zones_services_and_hypervisors(admin: dict[str, str]) -> None:
    aggregate = as_json(admin, "aggregate", "create", "--zone", "az1", "agg1")
    assert aggregate["availability_zone"] == "az1"
    services = as_json(admin, "compute", "service", "list")
    computes = [s for s in services if s["Binary"] == "nova-compute"]
    hypervisors = as_json(admin, "hypervisor", "list")
    assert len(hypervisors) == len(computes)
    for host in {s["Host"] for s in computes}:
        openstack(admin, "aggregate", "add", "host", "agg1", host)
    zones = {z["Zone Name"] for z in as_json(admin, "availability", "zone", "list")}
    assert ("az1" in zones) == bool(computes)
    assert all(s["State"] == "up" and s["Status"] == "enabled" for s in computes)


def test_quotas_and_limits(admin: dict[str, str]) -> None:
    quotas = {q["Resource"]: q["Limit"] for q in as_json(admin, "quota", "show")}
    assert (quotas["instances"], quotas["cores"], quotas["ram"]) == (10, 20, 51200)
    limits = {row["Name"]: row["Value"] for row in as_json(admin, "limits", "show", "--absolute")}
    assert limits["max_total_instances"] == 10 and limits["total_instances_used"] == 0
