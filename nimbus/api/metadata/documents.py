"""Nova's metadata paths for one instance: the OpenStack tree and the EC2 tree.

Pure functions of `InstanceFacts` and a path, no I/O. The shapes follow upstream
Nova's metadata service: `/openstack` lists the dated versions and `latest`; each
version lists its files (`meta_data.json`, `user_data` when there is some, `password`
from 2013-04-04, `vendor_data.json` from 2013-10-17, `network_data.json` from
2015-10-15, `vendor_data2.json` from 2016-10-06); any other top-level path is the EC2
tree (`/`, `/latest/meta-data/…`, `/latest/user-data`), whose directories list their
entries one a line, sub-directories with a trailing slash.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import posixpath
from dataclasses import dataclass
from typing import Any

from nimbus.api.metadata.facts import Address, InstanceFacts

EC2_VERSIONS = (
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
)
FOLSOM, GRIZZLY, HAVANA, LIBERTY = "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15"
NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY = "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27"
VICTORIA = "2020-10-14"
OPENSTACK_VERSIONS = (
    FOLSOM,
    GRIZZLY,
    HAVANA,
    LIBERTY,
    NEWTON_ONE,
    NEWTON_TWO,
    OCATA,
    ROCKY,
    VICTORIA,
)
LATEST = "latest"
JSON = "application/json"
TEXT = "text/plain"


@dataclass(frozen=True)
class Document:
    body: bytes
    content_type: str = TEXT


def _since(required: str, version: str, versions: tuple[str, ...]) -> bool:
    return versions.index(version) >= versions.index(required)


def _listing(entries: list[str]) -> Document:
    return Document("\n".join(entries).encode())


def _json(value: Any) -> Document:
    return Document(json.dumps(value).encode(), JSON)


def lookup(facts: InstanceFacts, path: str) -> Document | None:
    """The document at `path` for this instance, or None (404)."""
    tokens = [t for t in posixpath.normpath("/" + path.split("?", 1)[0]).split("/") if t]
    if tokens[:1] == ["openstack"]:
        return _openstack(facts, tokens[1:])
    if tokens[:1] == ["ec2"]:
        tokens = tokens[1:]
    return _ec2(facts, tokens)


# --- OpenStack ------------------------------------------------------------------------------


def _openstack(facts: InstanceFacts, tokens: list[str]) -> Document | None:
    if not tokens:
        return _listing([*OPENSTACK_VERSIONS, LATEST])
    version = OPENSTACK_VERSIONS[-1] if tokens[0] == LATEST else tokens[0]
    if version not in OPENSTACK_VERSIONS:
        return None
    files = _openstack_files(facts, version)
    if len(tokens) == 1:
        return _listing(list(files))
    if len(tokens) == 2 and tokens[1] in files:
        return files[tokens[1]]
    return None


def _openstack_files(facts: InstanceFacts, version: str) -> dict[str, Document]:
    def since(required: str) -> bool:
        return _since(required, version, OPENSTACK_VERSIONS)

    files = {"meta_data.json": _json(meta_data(facts, version))}
    if facts.user_data is not None:
        files["user_data"] = Document(facts.user_data, TEXT)
    if since(GRIZZLY):
        files["password"] = Document(b"")  # no password was ever posted
    if since(HAVANA):
        files["vendor_data.json"] = _json({})
    if since(LIBERTY):
        files["network_data.json"] = _json(network_data(facts))
    if since(NEWTON_TWO):
        files["vendor_data2.json"] = _json({})
    return files


def meta_data(facts: InstanceFacts, version: str) -> dict[str, Any]:
    """meta_data.json as Nova writes it for `version`."""

    def since(required: str) -> bool:
        return _since(required, version, OPENSTACK_VERSIONS)

    document: dict[str, Any] = {"uuid": facts.uuid}
    if facts.meta:
        document["meta"] = dict(facts.meta)
    if facts.key_name and facts.key_data:
        document["public_keys"] = {facts.key_name: facts.key_data}
        document["keys"] = [
            {"name": facts.key_name, "type": facts.key_type, "data": facts.key_data}
        ]
    document |= {
        "hostname": facts.hostname,
        "name": facts.name,
        "launch_index": facts.launch_index,
        "availability_zone": facts.availability_zone,
    }
    if since(GRIZZLY):
        document["random_seed"] = base64.b64encode(os.urandom(512)).decode()
    if since(LIBERTY):
        document["project_id"] = facts.project_id
    if since(NEWTON_ONE):
        document["devices"] = []
    if since(VICTORIA):
        document["dedicated_cpus"] = []
    return document


def network_data(facts: InstanceFacts) -> dict[str, Any]:
    """network_data.json: a link per port, a network per fixed IP, DNS services."""
    links = [
        {
            "id": _link_id(link.port_id),
            "vif_id": link.port_id,
            "type": "tap",
            "mtu": link.mtu,
            "ethernet_mac_address": link.mac_address,
        }
        for link in facts.links
    ]
    networks = [_network(i, address) for i, address in enumerate(facts.addresses)]
    services = [
        {"type": "dns", "address": server}
        for server in dict.fromkeys(s for a in facts.addresses for s in a.dns_nameservers)
    ]
    return {"links": links, "networks": networks, "services": services}


def _link_id(port_id: str) -> str:
    return f"tap{port_id[:11]}"


def _network(index: int, address: Address) -> dict[str, Any]:
    kind = f"ipv{address.version}"
    entry: dict[str, Any] = {
        "id": f"network{index}",
        "link": _link_id(address.port_id),
        "network_id": address.network_id,
    }
    if address.dhcp and address.version == 4:
        return {**entry, "type": f"{kind}_dhcp"}
    cidr = ipaddress.ip_network(address.cidr)
    routes = [
        _route(destination, nexthop)
        for destination, nexthop in (
            ([("0.0.0.0/0" if address.version == 4 else "::/0", address.gateway_ip)])
            if address.gateway_ip
            else []
        )
        + list(address.host_routes)
    ]
    return {
        **entry,
        "type": kind,
        "ip_address": address.ip_address,
        "netmask": str(cidr.netmask),
        "routes": routes,
        "services": [{"type": "dns", "address": s} for s in address.dns_nameservers],
    }


def _route(destination: str, nexthop: str) -> dict[str, str]:
    network = ipaddress.ip_network(destination)
    return {
        "network": str(network.network_address),
        "netmask": str(network.netmask),
        "gateway": nexthop,
    }


# --- EC2 ------------------------------------------------------------------------------------


def _ec2(facts: InstanceFacts, tokens: list[str]) -> Document | None:
    if not tokens:
        return _listing([*EC2_VERSIONS, LATEST])
    version = EC2_VERSIONS[-1] if tokens[0] == LATEST else tokens[0]
    if version not in EC2_VERSIONS:
        return None
    node: Any = ec2_tree(facts, version)
    for token in tokens[1:]:
        if not isinstance(node, dict) or token not in node or token == "_name":
            return None
        node = node[token]
    if isinstance(node, dict):
        return _listing(
            [_entry(key, value) for key, value in sorted(node.items()) if key != "_name"]
        )
    if isinstance(node, list):
        return _listing([str(item) for item in node])
    if isinstance(node, bytes):
        return Document(node)
    return Document(str(node).encode())


def _entry(key: str, value: Any) -> str:
    """A directory's line for one entry: sub-directories end in a slash, except the
    public keys', which read `0=<key name>` as on EC2."""
    if isinstance(value, dict):
        return value.get("_name", f"{key}/")
    return key


def ec2_id(prefix: str, number: int) -> str:
    """Nova's EC2 ids: a prefix and the row's number in eight hex digits."""
    return f"{prefix}-{number:08x}"


def ec2_tree(facts: InstanceFacts, version: str) -> dict[str, Any]:
    """The EC2 tree of `version`: `meta-data` and, when there is some, `user-data`."""

    def since(required: str) -> bool:
        return _since(required, version, EC2_VERSIONS)

    image_number = int(hashlib.sha1(facts.image_ref.encode()).hexdigest()[:8], 16)
    meta: dict[str, Any] = {
        "ami-id": ec2_id("ami", image_number),
        "ami-launch-index": facts.launch_index,
        "ami-manifest-path": "FIXME",  # what Nova answers too
        "instance-id": ec2_id("i", facts.number),
        "hostname": facts.hostname,
        "local-ipv4": facts.local_ipv4,
        "reservation-id": facts.reservation_id,
        "security-groups": list(facts.security_groups),
    }
    if facts.key_name and facts.key_data:
        meta["public-keys"] = {"0": {"_name": f"0={facts.key_name}", "openssh-key": facts.key_data}}
    if since("2007-01-19"):
        meta |= {
            "local-hostname": facts.hostname,
            "public-hostname": facts.hostname,
            "public-ipv4": facts.public_ipv4,
        }
    if since("2007-08-29"):
        meta["instance-type"] = facts.flavor_name
    if since("2007-12-15"):
        meta["block-device-mapping"] = {"ami": "vda", "root": "/dev/vda"}
    if since("2008-02-01"):
        meta["placement"] = {"availability-zone": facts.availability_zone}
    if since("2008-09-01"):
        meta["instance-action"] = "none"
    tree: dict[str, Any] = {"meta-data": meta}
    if facts.user_data is not None:
        tree["user-data"] = facts.user_data
    return tree
