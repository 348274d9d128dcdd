"""The metadata paths answered for one instance, as upstream Nova shapes them."""

from __future__ import annotations

import dataclasses
import json

import pytest

from nimbus.api.metadata import documents
from nimbus.api.metadata.facts import Address, InstanceFacts, Link

PORT = "0f6b1c2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f"
FACTS = InstanceFacts(
    uuid="6f0e3c1a-2b4d-4e5f-8a9b-0c1d2e3f4a5b",
    number=42,
    name="vm1",
    hostname="vm1",
    project_id="p1",
    launch_index=0,
    availability_zone="nova",
    reservation_id="r-abc",
    image_ref="img-1",
    flavor_name="m1.tiny",
    key_name="k1",
    key_data="ssh-ed25519 AAAA k1",
    key_type="ssh",
    user_data=b"#!/bin/sh\necho hi\n",
    meta={"role": "web"},
    security_groups=("default", "web"),
    local_ipv4="10.0.0.5",
    public_ipv4="172.24.4.9",
    links=(Link(PORT, "fa:16:3e:00:00:01", 1450),),
    addresses=(
        Address(PORT, "net-1", "10.0.0.5", "10.0.0.0/24", "10.0.0.1", True, ("9.9.9.9",), ()),
        Address(PORT, "net-1", "fd00::5", "fd00::/64", "fd00::1", False, (), ()),
    ),
)


def text(path: str, facts: InstanceFacts = FACTS) -> str:
    found = documents.lookup(facts, path)
    assert found is not None, path
    return found.body.decode()


def test_openstack_lists_dated_versions_and_latest() -> None:
    listed = text("/openstack").splitlines()
    assert listed[0] == "2012-08-10" and listed[-1] == "latest"
    assert "2018-08-27" in listed and "2016-10-06" in listed


@pytest.mark.parametrize(
    ("version", "files"),
    [
        ("2012-08-10", ["meta_data.json", "user_data"]),
        ("2013-10-17", ["meta_data.json", "user_data", "password", "vendor_data.json"]),
        (
            "latest",
            [
                "meta_data.json",
                "user_data",
                "password",
                "vendor_data.json",
                "network_data.json",
                "vendor_data2.json",
            ],
        ),
    ],
)
def test_each_version_lists_the_files_it_had_upstream(version: str, files: list[str]) -> None:
    assert text(f"/openstack/{version}").splitlines() == files


def test_meta_data_json_describes_the_instance() -> None:
    found = documents.lookup(FACTS, "/openstack/latest/meta_data.json")
    assert found is not None and found.content_type == "application/json"
    meta = json.loads(found.body)
    assert meta["uuid"] == FACTS.uuid and meta["name"] == "vm1" and meta["hostname"] == "vm1"
    assert meta["public_keys"] == {"k1": "ssh-ed25519 AAAA k1"}
    assert meta["keys"] == [{"name": "k1", "type": "ssh", "data": "ssh-ed25519 AAAA k1"}]
    assert meta["meta"] == {"role": "web"} and meta["project_id"] == "p1"
    assert meta["availability_zone"] == "nova" and meta["launch_index"] == 0
    assert len(meta["random_seed"]) > 600
    old = json.loads(text("/openstack/2012-08-10/meta_data.json"))
    assert "random_seed" not in old and "project_id" not in old


def test_user_data_is_served_as_given_and_absent_when_none() -> None:
    assert text("/openstack/latest/user_data") == "#!/bin/sh\necho hi\n"
    assert text("/latest/user-data") == "#!/bin/sh\necho hi\n"
    bare = dataclasses.replace(FACTS, user_data=None)
    assert documents.lookup(bare, "/openstack/latest/user_data") is None
    assert "user_data" not in text("/openstack/latest", bare).splitlines()


def test_network_data_has_a_link_per_port_and_a_network_per_address() -> None:
    data = json.loads(text("/openstack/latest/network_data.json"))
    assert data["links"] == [
        {
            "id": f"tap{PORT[:11]}",
            "vif_id": PORT,
            "type": "tap",
            "mtu": 1450,
            "ethernet_mac_address": "fa:16:3e:00:00:01",
        }
    ]
    v4, v6 = data["networks"]
    assert v4 == {
        "id": "network0",
        "link": f"tap{PORT[:11]}",
        "network_id": "net-1",
        "type": "ipv4_dhcp",
    }
    assert v6["type"] == "ipv6" and v6["ip_address"] == "fd00::5"
    assert v6["routes"] == [{"network": "::", "netmask": "::", "gateway": "fd00::1"}]
    assert data["services"] == [{"type": "dns", "address": "9.9.9.9"}]


def test_ec2_tree() -> None:
    assert text("/").splitlines()[-2:] == ["2009-04-04", "latest"]
    assert text("/latest").splitlines() == ["meta-data/", "user-data"]
    listing = text("/latest/meta-data/").splitlines()
    for entry in ("instance-id", "hostname", "local-ipv4", "public-ipv4", "public-keys/"):
        assert entry in listing
    assert "placement/" in listing
    assert text("/latest/meta-data/instance-id") == "i-0000002a"
    assert text("/latest/meta-data/local-ipv4") == "10.0.0.5"
    assert text("/latest/meta-data/public-ipv4") == "172.24.4.9"
    assert text("/latest/meta-data/public-keys") == "0=k1"
    assert text("/latest/meta-data/public-keys/0/") == "openssh-key"
    assert text("/latest/meta-data/public-keys/0/openssh-key") == "ssh-ed25519 AAAA k1"
    assert text("/latest/meta-data/security-groups") == "default\nweb"
    assert text("/latest/meta-data/placement/availability-zone") == "nova"
    assert text("/2009-04-04/meta-data/instance-type") == "m1.tiny"
    assert "public-ipv4" not in text("/1.0/meta-data").splitlines()


@pytest.mark.parametrize(
    "path",
    [
        "/openstack/2011-01-01/meta_data.json",
        "/openstack/latest/nothing",
        "/latest/meta-data/nothing",
        "/latest/meta-data/public-keys/0/_name",
        "/1999-01-01/meta-data",
        "/latest/meta-data/instance-id/more",
    ],
)
def test_unknown_paths_are_not_found(path: str) -> None:
    assert documents.lookup(FACTS, path) is None
