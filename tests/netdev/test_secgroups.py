"""Security groups compiled to nftables: the translation of rules, the transactions a change
produces, and that the kernel accepts what is compiled, at 1,000 ports too."""

from __future__ import annotations

import dataclasses
import time

import pytest

from nimbus.netdev import nft
from nimbus.netdev.model import Network, SecurityGroup, SecurityGroupRule, Topology
from nimbus.netdev.names import Names
from nimbus.netdev.secgroups import SecurityGroups, compile_ruleset
from tests.netdev.support import new_id, new_tag, on_host, port, purge, sh

NAMES = Names("nb")
GROUP = new_id()
RULES = (
    SecurityGroupRule(
        "ingress",
        protocol="tcp",
        port_range_min=8000,
        port_range_max=8080,
        remote_ip_prefix="10.0.0.0/8",
    ),
    SecurityGroupRule("ingress", protocol="17", port_range_min=53, port_range_max=53),
    SecurityGroupRule("ingress", protocol="icmp", port_range_min=8, port_range_max=0),
    SecurityGroupRule("ingress", ethertype="IPv6", protocol="icmp"),
    SecurityGroupRule("ingress", remote_group_id=GROUP),
    SecurityGroupRule("ingress", remote_ip_prefix="2001:db8::/32"),  # IPv4 rule: cannot apply
    SecurityGroupRule("egress", ethertype="IPv6", remote_ip_prefix="2001:db8::/32"),
)


def topology(ports: int = 2, rules: tuple[SecurityGroupRule, ...] = RULES) -> Topology:
    network = Network(new_id())
    members = tuple(
        port(network.id, "", f"10.1.{n // 250}.{n % 250 + 2}", n, groups=(GROUP,))
        for n in range(ports)
    )
    addresses = tuple(m.fixed_ips[0].ip_address for m in members)
    group = SecurityGroup(GROUP, rules, member_ips=(*addresses, "10.9.0.0/16"))
    return Topology(networks=(network,), ports=members, security_groups=(group,))


def test_rules_translate_to_nft_matches() -> None:
    world = topology()
    ruleset = compile_ruleset(NAMES, world)
    inet = ruleset.inet or ""
    assert (
        "meta nfproto ipv4 ip saddr 10.0.0.0/8 meta l4proto tcp tcp dport 8000-8080 accept" in inet
    )
    assert "meta nfproto ipv4 meta l4proto udp udp dport 53 accept" in inet
    assert "meta nfproto ipv4 meta l4proto icmp icmp type 8 icmp code 0 accept" in inet
    assert "meta nfproto ipv6 meta l4proto ipv6-icmp accept" in inet
    assert "meta nfproto ipv6 ip6 daddr 2001:db8::/32 return" in inet
    assert "2001:db8::/32 accept" not in inet
    set_name = "rg4_" + GROUP.replace("-", "")
    assert f"meta nfproto ipv4 ip saddr @{set_name} accept" in inet
    assert ruleset.elements[("inet", "set", set_name)] == (
        "10.1.0.2/32",
        "10.1.0.3/32",
        "10.9.0.0/16",
    )
    for member in world.ports:
        tap = f'"{NAMES.tap(member.id)}"'
        assert f"{tap} . {member.mac_address}" in ruleset.elements[("bridge", "set", "macs")]
        assert (
            f"{tap} . {member.fixed_ips[0].ip_address}/32"
            in ruleset.elements[("bridge", "set", "ips4")]
        )
        assert f"{tap} : jump to_1" in ruleset.elements[("bridge", "map", "destination")]


def test_ports_sharing_groups_share_chains() -> None:
    ruleset = compile_ruleset(NAMES, topology(50))
    assert (ruleset.inet or "").count("chain ingress_") == 1
    assert (ruleset.bridge or "").count("chain to_") == 1


def test_a_membership_change_refills_the_sets_in_place() -> None:
    world = topology()
    groups = SecurityGroups(NAMES)
    first = groups.script(compile_ruleset(NAMES, world))
    assert "delete table inet nb_sg" in first and "add element" in first
    groups._applied = compile_ruleset(NAMES, world)
    group = world.security_groups[0]
    shrunk = dataclasses.replace(group, member_ips=group.member_ips[:1])  # a member left
    moved = dataclasses.replace(world, security_groups=(shrunk,))
    script = groups.script(compile_ruleset(NAMES, moved))
    assert "table" not in script.replace("inet nb_sg", "")
    assert script.startswith("flush set inet nb_sg rg4_")
    assert "10.1.0.3" not in script
    groups._applied = compile_ruleset(NAMES, moved)
    fewer = dataclasses.replace(moved, ports=moved.ports[:1])  # a port went away
    script = groups.script(compile_ruleset(NAMES, fewer))
    assert "chain" not in script and "flush map bridge nb_sg destination" in script


def test_with_no_secured_port_the_tables_go() -> None:
    script = SecurityGroups(NAMES).script(compile_ruleset(NAMES, Topology()))
    assert script.count("delete table") == 2
    assert "chain" not in script


@pytest.mark.parametrize("ports", [2, 1000])
@on_host
async def test_the_kernel_loads_the_compiled_rule_set(ports: int) -> None:
    """Compiled and loaded as one transaction in a scratch namespace (1,000 ports: the
    rule-set build time of the benchmark)."""
    names = Names(new_tag())
    namespace = f"{names.tag}scratch"
    sh("ip", "netns", "add", namespace)
    try:
        world = topology(ports)
        started = time.monotonic()
        script = SecurityGroups(names).script(compile_ruleset(names, world))
        compiled = time.monotonic() - started
        await nft.apply(script, netns=namespace)
        loaded = time.monotonic() - started - compiled
        listed = sh("ip", "netns", "exec", namespace, "nft", "list", "ruleset").stdout
        assert listed.count("chain to_") == 1
        assert listed.count(" : jump to_1") == ports
        assert listed.count('" . fa:16:3e') == ports
        print(f"{ports} ports: compiled in {compiled:.3f} s, loaded in {loaded:.3f} s")
        assert compiled + loaded < 30
    finally:
        purge(names.tag)
