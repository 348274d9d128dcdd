"""Security groups and rules: the default group, rule checks, duplicates, in-use groups."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Cloud
from tests.api.network_helpers import (
    admin_client,
    create,
    member_client,
    network_with_subnet,
    neutron_error,
    ok,
)


def _shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["direction"], rule["ethertype"], rule["remote_group_id"] is not None)


async def test_default_group_is_made_on_first_list(cloud: Cloud) -> None:
    async with await member_client(cloud, "sg-alice", "sg-proj-a") as client:
        (group,) = ok(await client.get("/v2.0/security-groups"))["security_groups"]
        assert group["name"] == "default"
        assert sorted(_shape(r) for r in group["security_group_rules"]) == [
            ("egress", "IPv4", False),
            ("egress", "IPv6", False),
            ("ingress", "IPv4", True),
            ("ingress", "IPv6", True),
        ]
        ingress = [r for r in group["security_group_rules"] if r["direction"] == "ingress"]
        assert all(r["remote_group_id"] == group["id"] for r in ingress)
        again = ok(await client.get("/v2.0/security-groups"))["security_groups"]
        assert [g["id"] for g in again] == [group["id"]]
        response = await client.delete(f"/v2.0/security-groups/{group['id']}")
        neutron_error(response, 409, "SecurityGroupCannotRemoveDefault")
        response = await client.put(
            f"/v2.0/security-groups/{group['id']}", json={"security_group": {"name": "x"}}
        )
        neutron_error(response, 409, "SecurityGroupCannotUpdateDefault")
        response = await client.post(
            "/v2.0/security-groups", json={"security_group": {"name": "default"}}
        )
        neutron_error(response, 409, "SecurityGroupDefaultAlreadyExists")


async def test_rules(cloud: Cloud) -> None:
    async with await member_client(cloud, "sg-bob", "sg-proj-b") as client:
        web = await create(client, "security_group", name="web", description="web")
        assert sorted(_shape(r) for r in web["security_group_rules"]) == [
            ("egress", "IPv4", False),
            ("egress", "IPv6", False),
        ]
        rule = await create(
            client,
            "security_group_rule",
            security_group_id=web["id"],
            direction="ingress",
            protocol="tcp",
            port_range_min=80,
            port_range_max=80,
            remote_ip_prefix="0.0.0.0/0",
        )
        assert (rule["protocol"], rule["port_range_min"], rule["ethertype"]) == ("tcp", 80, "IPv4")
        response = await client.put(
            f"/v2.0/security-groups/{web['id']}", json={"security_group": {"name": "default"}}
        )
        neutron_error(response, 409, "SecurityGroupDefaultAlreadyExists")
        response = await client.post(
            "/v2.0/security-group-rules",
            json={
                "security_group_rule": {
                    "security_group_id": web["id"],
                    "direction": "ingress",
                    "protocol": "6",
                    "port_range_min": 80,
                    "port_range_max": 80,
                }
            },
        )
        assert rule["id"] in neutron_error(response, 409, "SecurityGroupRuleExists")
        icmp = await create(
            client,
            "security_group_rule",
            security_group_id=web["id"],
            direction="ingress",
            protocol="icmp",
            port_range_min=8,
            port_range_max=0,
            remote_group_id=web["id"],
        )
        assert icmp["remote_group_id"] == web["id"]
        normalized = await create(
            client,
            "security_group_rule",
            security_group_id=web["id"],
            direction="ingress",
            ethertype="IPv6",
            protocol=17,
            port_range_min=53,
            port_range_max=53,
            remote_ip_prefix="fd00::5/64",
        )
        # Neutron keeps the host bits as given and shows the network apart
        assert normalized["remote_ip_prefix"] == "fd00::5/64" and normalized["protocol"] == "17"
        assert normalized["normalized_cidr"] == "fd00::/64"

        bad: list[tuple[dict[str, Any], str]] = [
            (
                {"protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
                "SecurityGroupInvalidPortRange",
            ),
            (
                {"protocol": "tcp", "port_range_min": 0, "port_range_max": 80},
                "SecurityGroupInvalidPortValue",
            ),
            (
                {"port_range_min": 80, "port_range_max": 80},
                "SecurityGroupProtocolRequiredWithPorts",
            ),
            (
                {"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
                "SecurityGroupInvalidPortRange",
            ),
            ({"protocol": "icmp", "port_range_max": 3}, "SecurityGroupMissingIcmpType"),
            ({"protocol": "icmp", "port_range_min": 300}, "SecurityGroupInvalidIcmpValue"),
            ({"protocol": "nonsense"}, "SecurityGroupRuleInvalidProtocol"),
            (
                {"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": web["id"]},
                "SecurityGroupRemoteGroupAndRemoteIpPrefix",
            ),
            ({"remote_ip_prefix": "fd00::/8"}, "SecurityGroupRuleParameterConflict"),
            ({"ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType"),
            ({"protocol": "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol"),
        ]
        rules_before = len(
            ok(await client.get("/v2.0/security-group-rules"))["security_group_rules"]
        )
        for extra, kind in bad:
            body = {"security_group_id": web["id"], "direction": "ingress", **extra}
            response = await client.post(
                "/v2.0/security-group-rules", json={"security_group_rule": body}
            )
            neutron_error(response, 400, kind)
        response = await client.post(
            "/v2.0/security-group-rules",
            json={"security_group_rule": {"security_group_id": web["id"], "direction": "sideways"}},
        )
        neutron_error(response, 400, "HTTPBadRequest")
        rules_after = ok(await client.get("/v2.0/security-group-rules"))["security_group_rules"]
        assert len(rules_after) == rules_before

        assert (await client.delete(f"/v2.0/security-group-rules/{rule['id']}")).status_code == 204
        neutron_error(
            await client.get(f"/v2.0/security-group-rules/{rule['id']}"),
            404,
            "SecurityGroupRuleNotFound",
        )
        shown = ok(await client.get(f"/v2.0/security-groups/{web['id']}"))["security_group"]
        assert rule["id"] not in {r["id"] for r in shown["security_group_rules"]}


async def test_group_in_use_and_invisible_to_others(cloud: Cloud) -> None:
    async with (
        await member_client(cloud, "sg-carol", "sg-proj-c") as carol,
        await member_client(cloud, "sg-dave", "sg-proj-d") as dave,
    ):
        network, _ = await network_with_subnet(carol, "sg-net", "10.70.0.0/24")
        group = await create(carol, "security_group", name="used")
        port = await create(carol, "port", network_id=network["id"], security_groups=[group["id"]])
        assert port["security_groups"] == [group["id"]]
        neutron_error(
            await carol.delete(f"/v2.0/security-groups/{group['id']}"), 409, "SecurityGroupInUse"
        )
        neutron_error(
            await dave.get(f"/v2.0/security-groups/{group['id']}"), 404, "SecurityGroupNotFound"
        )
        response = await dave.post(
            "/v2.0/security-group-rules",
            json={
                "security_group_rule": {"security_group_id": group["id"], "direction": "ingress"}
            },
        )
        neutron_error(response, 404, "SecurityGroupNotFound")
        assert (await carol.delete(f"/v2.0/ports/{port['id']}")).status_code == 204
        assert (await carol.delete(f"/v2.0/security-groups/{group['id']}")).status_code == 204
    async with await admin_client(cloud) as admin:
        listed = ok(await admin.get("/v2.0/security-groups", params={"name": "default"}))
        assert len(listed["security_groups"]) >= 2  # one per project that asked
