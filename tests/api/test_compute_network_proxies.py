"""Nova's network proxies (security groups, rules, floating IPs, pools, networks) over
the network service: Nova's shapes and errors, what the network API sees afterwards,
and the 2.36 (2.44 for the floating IP actions) cut-offs.

Servers here are instance rows with a port whose device_id is the server, as the
compute side's networking makes them; the proxies only rely on that relation.
"""

from __future__ import annotations

from typing import Any

import httpx

from nimbus.network import ports
from tests.api.compute_helpers import (
    add_instance,
    compute_client,
    fault,
    member_client,
    new_project,
    ok,
)
from tests.api.conftest import Cloud
from tests.api.network_helpers import create, network_with_subnet

PROXY_VERSION = "2.35"


async def _member(cloud: Cloud, name: str, version: str = PROXY_VERSION) -> httpx.AsyncClient:
    """A member of project `name` (created) asking for `version`."""
    await new_project(cloud, name)
    return await member_client(cloud, f"{name}-user", version, project=name)


def _network_client(compute: httpx.AsyncClient, cloud: Cloud) -> httpx.AsyncClient:
    """A network API client with the same token."""
    client = cloud.client("network")
    client.headers["X-Auth-Token"] = compute.headers["X-Auth-Token"]
    return client


async def _server_with_port(cloud: Cloud, project_id: str, network_id: str) -> tuple[str, str]:
    """An instance row and its port (device_id = the server); their ids."""
    uuid = await add_instance(cloud, project_id, vm_state="active")
    async with cloud.process.db.transaction() as session:
        port = await ports.create_for_server(
            session,
            cloud.process.settings.network,
            network_id=network_id,
            project_id=project_id,
            server_id=uuid,
        )
        return uuid, port.id


async def _group(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    body = {"security_group": {"name": name, "description": f"{name} group"}}
    return ok(await client.post("/v2.1/os-security-groups", json=body))["security_group"]


async def _rule(client: httpx.AsyncClient, **rule: Any) -> httpx.Response:
    return await client.post("/v2.1/os-security-group-rules", json={"security_group_rule": rule})


async def test_security_groups_crud_in_nova_shapes(cloud: Cloud) -> None:
    async with await _member(cloud, "sgp-a") as client:
        made = await _group(client, "web")
        assert made["name"] == "web" and made["description"] == "web group"
        assert made["rules"] == [] and made["tenant_id"]  # egress rules are not Nova's
        listed = ok(await client.get("/v2.1/os-security-groups"))["security_groups"]
        assert [g["name"] for g in listed] == ["default", "web"]
        default = listed[0]
        # its IPv4 and IPv6 ingress-from-members rules, in Nova's shape
        assert len(default["rules"]) == 2
        for own_rule in default["rules"]:
            assert own_rule["group"] == {"name": "default", "tenant_id": made["tenant_id"]}
            assert own_rule["ip_range"] == {} and own_rule["ip_protocol"] is None

        shown = ok(await client.get(f"/v2.1/os-security-groups/{made['id']}"))
        assert shown["security_group"] == made
        body = {"security_group": {"name": "web2", "description": "renamed"}}
        updated = ok(await client.put(f"/v2.1/os-security-groups/{made['id']}", json=body))
        assert updated["security_group"]["name"] == "web2"

        fault(await client.get("/v2.1/os-security-groups/not-a-uuid"), 400, "badRequest")
        missing = "00000000-0000-4000-8000-000000000000"
        fault(await client.get(f"/v2.1/os-security-groups/{missing}"), 404, "itemNotFound")
        fault(await client.delete(f"/v2.1/os-security-groups/{default['id']}"), 400)
        fault(await client.post("/v2.1/os-security-groups", json={"security_group": {}}), 400)

        response = await client.delete(f"/v2.1/os-security-groups/{made['id']}")
        assert response.status_code == 202, response.text
        fault(await client.get(f"/v2.1/os-security-groups/{made['id']}"), 404)
    async with await member_client(cloud, "sgp-a-new", "2.36", project="sgp-a") as client:
        assert (await client.get("/v2.1/os-security-groups")).status_code == 404


async def test_rules_translate_to_neutron_ingress_rules(cloud: Cloud) -> None:
    async with await _member(cloud, "sgp-b") as client:
        group = await _group(client, "ssh")
        source = await _group(client, "peers")
        response = await _rule(
            client,
            parent_group_id=group["id"],
            ip_protocol="tcp",
            from_port=22,
            to_port=22,
            cidr="10.0.0.0/8",
        )
        rule = ok(response)["security_group_rule"]
        assert rule["ip_range"] == {"cidr": "10.0.0.0/8"} and rule["group"] == {}
        assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (22, 22, "tcp")
        async with _network_client(client, cloud) as network:
            seen = ok(await network.get(f"/v2.0/security-group-rules/{rule['id']}"))
        seen = seen["security_group_rule"]
        assert seen["direction"] == "ingress" and seen["ethertype"] == "IPv4"
        assert (seen["port_range_min"], seen["port_range_max"]) == (22, 22)
        assert seen["remote_ip_prefix"] == "10.0.0.0/8"

        # the CIDR as given, host bits and all (Neutron keeps them; Tempest checks)
        response = await _rule(
            client,
            parent_group_id=group["id"],
            ip_protocol="tcp",
            from_port=80,
            to_port=80,
            cidr="10.2.3.124/24",
        )
        http = ok(response)["security_group_rule"]
        assert http["ip_range"] == {"cidr": "10.2.3.124/24"}

        duplicate = await _rule(
            client,
            parent_group_id=group["id"],
            ip_protocol="tcp",
            from_port=22,
            to_port=22,
            cidr="10.0.0.0/8",
        )
        assert "already exists" in fault(duplicate, 400)

        # from a source group with no ports: the whole protocol
        response = await _rule(
            client, parent_group_id=group["id"], ip_protocol="udp", group_id=source["id"]
        )
        from_group = ok(response)["security_group_rule"]
        assert (from_group["from_port"], from_group["to_port"]) == (1, 65535)
        assert from_group["group"] == {"name": "peers", "tenant_id": group["tenant_id"]}
        icmp = ok(
            await _rule(
                client, parent_group_id=group["id"], ip_protocol="icmp", from_port=-1, to_port=-1
            )
        )["security_group_rule"]
        assert (icmp["from_port"], icmp["to_port"]) == (-1, -1)
        assert icmp["ip_range"] == {"cidr": "0.0.0.0/0"}

        shown = ok(await client.get(f"/v2.1/os-security-groups/{group['id']}"))
        assert {r["id"] for r in shown["security_group"]["rules"]} == {
            rule["id"],
            http["id"],
            from_group["id"],
            icmp["id"],
        }

        parent = group["id"]
        for bad in (
            {"ip_protocol": "bogus", "from_port": 1, "to_port": 2},
            {"ip_protocol": "tcp", "from_port": 1, "to_port": 65536},
            {"ip_protocol": "tcp", "from_port": 30, "to_port": 20},
            {"ip_protocol": "tcp", "from_port": "x", "to_port": 20},
            {"ip_protocol": "tcp"},  # a CIDR rule needs its ports
            {"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "10.0.0.1/0"},
        ):
            fault(await _rule(client, parent_group_id=parent, **bad), 400)
        fault(await _rule(client, parent_group_id="nope", ip_protocol="tcp"), 400)
        missing = "00000000-0000-4000-8000-000000000000"
        fault(
            await _rule(client, parent_group_id=missing, ip_protocol="tcp", from_port=1, to_port=2),
            404,
        )

        response = await client.delete(f"/v2.1/os-security-group-rules/{rule['id']}")
        assert response.status_code == 202, response.text
        fault(await client.delete(f"/v2.1/os-security-group-rules/{rule['id']}"), 404)


async def test_server_groups_and_floating_ips_through_ports(cloud: Cloud) -> None:
    async with await _member(cloud, "fip-a") as client, _network_client(client, cloud) as net:
        network, subnet = await network_with_subnet(net, "fip-net", "10.70.0.0/24")
        project_id = network["project_id"]
        (public,) = ok(await net.get("/v2.0/networks", params={"name": "public"}))["networks"]
        router = await create(net, "router", name="fip-router")
        response = await net.put(
            f"/v2.0/routers/{router['id']}",
            json={"router": {"external_gateway_info": {"network_id": public["id"]}}},
        )
        ok(response)
        response = await net.put(
            f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]}
        )
        ok(response)
        server, port_id = await _server_with_port(cloud, project_id, network["id"])
        other, _ = await _server_with_port(cloud, project_id, network["id"])

        groups = ok(await client.get(f"/v2.1/servers/{server}/os-security-groups"))
        (default,) = groups["security_groups"]
        assert default["name"] == "default" and default["rules"]
        fault(await client.delete(f"/v2.1/os-security-groups/{default['id']}"), 400)

        pools = ok(await client.get("/v2.1/os-floating-ip-pools"))["floating_ip_pools"]
        assert {"name": "public"} in pools
        fault(await client.post("/v2.1/os-floating-ips", json={"pool": "nowhere"}), 404)
        fip = ok(await client.post("/v2.1/os-floating-ips", json={"pool": "public"}))
        fip = fip["floating_ip"]
        assert fip["pool"] == "public" and fip["instance_id"] is None
        assert fip["fixed_ip"] is None and fip["ip"].startswith("172.24.4.")
        listed = ok(await client.get("/v2.1/os-floating-ips"))["floating_ips"]
        assert listed == [fip]

        add = {"addFloatingIp": {"address": fip["ip"]}}
        response = await client.post(f"/v2.1/servers/{server}/action", json=add)
        assert response.status_code == 202, response.text
        shown = ok(await client.get(f"/v2.1/os-floating-ips/{fip['id']}"))["floating_ip"]
        assert shown["instance_id"] == server and shown["fixed_ip"].startswith("10.70.0.")
        seen = ok(await net.get(f"/v2.0/floatingips/{fip['id']}"))["floatingip"]
        assert seen["port_id"] == port_id and seen["router_id"] == router["id"]

        # moving it to another server is allowed, as with Neutron
        response = await client.post(f"/v2.1/servers/{other}/action", json=add)
        assert response.status_code == 202, response.text
        remove = {"removeFloatingIp": {"address": fip["ip"]}}
        fault(await client.post(f"/v2.1/servers/{server}/action", json=remove), 409)
        response = await client.post(f"/v2.1/servers/{other}/action", json=remove)
        assert response.status_code == 202, response.text
        shown = ok(await client.get(f"/v2.1/os-floating-ips/{fip['id']}"))["floating_ip"]
        assert shown["instance_id"] is None and shown["fixed_ip"] is None

        unknown = {"addFloatingIp": {"address": "172.24.4.254"}}
        fault(await client.post(f"/v2.1/servers/{server}/action", json=unknown), 404)
        fixed = {"addFloatingIp": {"address": fip["ip"], "fixed_address": "10.99.0.1"}}
        fault(await client.post(f"/v2.1/servers/{server}/action", json=fixed), 400)
        no_ports = await add_instance(cloud, project_id, vm_state="active")
        fault(await client.post(f"/v2.1/servers/{no_ports}/action", json=add), 400)
        newer = await compute_client(cloud, "2.44", user="fip-a-user", project="fip-a")
        async with newer:
            fault(await newer.post(f"/v2.1/servers/{server}/action", json=add), 404)

        response = await client.delete(f"/v2.1/os-floating-ips/{fip['id']}")
        assert response.status_code == 202, response.text
        fault(await client.get(f"/v2.1/os-floating-ips/{fip['id']}"), 404, "itemNotFound")


async def test_networks_and_tenant_networks(cloud: Cloud) -> None:
    async with await _member(cloud, "netp-a") as client, _network_client(client, cloud) as net:
        network = await create(net, "network", name="netp-net")
        listed = ok(await client.get("/v2.1/os-networks"))["networks"]
        mine = next(n for n in listed if n["id"] == network["id"])
        assert mine["label"] == "netp-net" and mine["cidr"] is None
        assert "vlan" not in mine  # an admin-only field of nova-network's
        assert {n["label"] for n in listed} >= {"netp-net", "public"}
        shown = ok(await client.get(f"/v2.1/os-networks/{network['id']}"))["network"]
        assert shown == mine
        fault(await client.get("/v2.1/os-networks/nothing"), 404, "itemNotFound")
        tenant = ok(await client.get(f"/v2.1/os-tenant-networks/{network['id']}"))["network"]
        assert tenant == {"id": network["id"], "cidr": "None", "label": "netp-net"}
        for method, path in (
            ("POST", "/v2.1/os-networks"),
            ("DELETE", f"/v2.1/os-networks/{network['id']}"),
            ("POST", "/v2.1/os-networks/add"),
            ("POST", f"/v2.1/os-networks/{network['id']}/action"),
            ("POST", "/v2.1/os-tenant-networks"),
        ):
            response = await client.request(method, path, json={})
            fault(response, 410, "computeFault")
    async with await compute_client(cloud, PROXY_VERSION) as admin:
        shown = ok(await admin.get(f"/v2.1/os-networks/{network['id']}"))["network"]
        assert "vlan" in shown and shown["vlan"] is None
    async with await compute_client(cloud, "2.36") as admin:
        assert (await admin.get("/v2.1/os-networks")).status_code == 404
        assert (await admin.get("/v2.1/os-tenant-networks")).status_code == 404


async def test_basic_view_addresses_carry_no_extended_keys(cloud: Cloud) -> None:
    """Update (and rebuild before 2.75) answer Nova's basic view: addresses with
    version and addr only; show has the OS-EXT-IPS keys too."""
    async with await _member(cloud, "view-a") as client, _network_client(client, cloud) as net:
        network, _ = await network_with_subnet(net, "view-net", "10.71.0.0/24")
        server, _ = await _server_with_port(cloud, network["project_id"], network["id"])
        body = {"server": {"name": "renamed"}}
        updated = ok(await client.put(f"/v2.1/servers/{server}", json=body))["server"]
        (entry,) = updated["addresses"]["view-net"]
        assert set(entry) == {"version", "addr"} and entry["addr"].startswith("10.71.0.")
        shown = ok(await client.get(f"/v2.1/servers/{server}"))["server"]
        (entry,) = shown["addresses"]["view-net"]
        assert entry["OS-EXT-IPS:type"] == "fixed" and entry["OS-EXT-IPS-MAC:mac_addr"]
