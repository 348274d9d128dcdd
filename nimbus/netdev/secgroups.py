"""Security groups compiled to nftables, one pair of tables per agent.

The bridge family sees which bridge port a frame enters and leaves by, but (here) has no
connection tracking; the inet family, reached by bridged IPv4/IPv6 through br_netfilter,
tracks connections but only sees the bridge. So:

- table `bridge TAG_sg`: at prerouting, a frame from a secured tap must carry one of the
  port's MACs, ARP sender and source addresses (sets keyed by tap name; DHCP discovery
  allowed, DHCP and router-advertisement servers not); it is then marked with its port's
  *profile* (its set of security groups) in the upper 16 bits. At forward, the profile of
  the tap it leaves by goes into the lower 16 bits.
- table `inet TAG_sg`: a conntrack zone per network bridge (overlapping tenant CIDRs stay
  apart); established/related accepted; then the source profile's egress chain (a match
  returns, the end drops) and the destination profile's ingress chain (a match accepts, the
  end drops). Remote groups are named sets of member addresses.

Chains exist per profile, not per port, and ports are set and map elements, so a host's
rule set grows with its distinct group combinations and its ports only add elements. Every
change is one `nft -f` transaction: when only elements changed (a port came or went, a
group's members changed) the sets are refilled in place; otherwise both tables are
replaced whole, which a restarted agent also does first, so no rule is ever duplicated.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from nimbus.netdev import nft
from nimbus.netdev.model import Port, SecurityGroup, SecurityGroupRule, Topology
from nimbus.netdev.names import Names

PORTS_PROTOCOLS = {"tcp", "udp", "sctp", "dccp"}
PROTOCOL_NUMBERS = {"1": "icmp", "6": "tcp", "17": "udp", "58": "ipv6-icmp", "132": "sctp"}
IP_FAMILY = {"IPv4": ("ipv4", "ip", "icmp"), "IPv6": ("ipv6", "ip6", "icmpv6")}
ALWAYS_EGRESS = (
    "meta nfproto ipv4 udp sport 68 udp dport 67",
    "meta nfproto ipv6 udp sport 546 udp dport 547",
    "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert }",
)
ALWAYS_INGRESS = (
    "meta nfproto ipv4 udp sport 67 udp dport 68",
    "meta nfproto ipv6 udp sport 547 udp dport 546",
    "icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert }",
)
BRIDGE_SETS = (
    ("set", "secured", "type ifname;"),
    ("set", "macs", "type ifname . ether_addr;"),
    ("set", "ips4", "type ifname . ipv4_addr; flags interval;"),
    ("set", "ips6", "type ifname . ipv6_addr; flags interval;"),
    ("map", "source", "type ifname : mark;"),
    ("map", "destination", "type ifname : verdict;"),
)
ANTI_SPOOFING = (
    "iifname != @secured accept",
    "iifname . ether saddr != @macs drop",
    "iifname . arp saddr ether != @macs drop",
    "arp saddr ip != 0.0.0.0 iifname . arp saddr ip != @ips4 drop",
    "ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept",
    "iifname . ip saddr != @ips4 drop",
    "udp sport 67 udp dport 68 drop",
    "iifname . ip6 saddr != @ips6 drop",
    "icmpv6 type nd-router-advert drop",
    "udp sport 547 udp dport 546 drop",
    "meta mark set iifname map @source",
)

Element = tuple[str, str, str]  # (family, "set" | "map", name)


def _id(resource_id: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]", "", resource_id)


def _elements(items: Iterable[str]) -> str:
    return "{ " + ", ".join(sorted(set(items))) + " }"


@dataclass(frozen=True)
class Ruleset:
    """A compiled rule set: the tables (with empty sets), and the sets' elements."""

    bridge: str | None
    inet: str | None
    elements: dict[Element, tuple[str, ...]] = field(default_factory=dict)


class SecurityGroups:
    """Converges this agent's security-group tables."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self._applied: Ruleset | None = None

    @property
    def table(self) -> str:
        return self.names.table("sg")

    async def sync(self, topology: Topology) -> None:
        ruleset = compile_ruleset(self.names, topology)
        script = self.script(ruleset)
        if script:
            await nft.apply(script)
        self._applied = ruleset

    def script(self, ruleset: Ruleset) -> str:
        """The transaction taking the kernel from what was applied to `ruleset`."""
        previous = self._applied
        if previous is not None and (previous.bridge, previous.inet) == (
            ruleset.bridge,
            ruleset.inet,
        ):
            return "".join(
                self._fill(key, items, flush=True)
                for key, items in sorted(ruleset.elements.items())
                if previous.elements.get(key) != items
            )
        fills = "".join(
            self._fill(key, items, flush=False) for key, items in sorted(ruleset.elements.items())
        )
        return (
            nft.replace_table("bridge", self.table, ruleset.bridge)
            + nft.replace_table("inet", self.table, ruleset.inet)
            + fills
        )

    def _fill(self, key: Element, items: tuple[str, ...], *, flush: bool) -> str:
        family, kind, name = key
        lines = [f"flush {kind} {family} {self.table} {name}\n"] if flush else []
        if items:
            lines.append(f"add element {family} {self.table} {name} {_elements(items)}\n")
        return "".join(lines)


def compile_ruleset(names: Names, topology: Topology) -> Ruleset:
    """The rule set for every secured instance port of `topology`."""
    ports = sorted(
        (p for p in topology.ports if p.is_instance_port and p.port_security_enabled),
        key=lambda p: p.id,
    )
    if not ports:
        return Ruleset(None, None)
    groups = {group.id: group for group in topology.security_groups}
    profiles = sorted({tuple(sorted(set(p.security_group_ids))) for p in ports})
    number = {profile: index for index, profile in enumerate(profiles, start=1)}
    elements: dict[Element, tuple[str, ...]] = {}

    def put(family: str, kind: str, name: str, items: Iterable[str]) -> None:
        elements[(family, kind, name)] = tuple(sorted(set(items)))

    taps = {port.id: f'"{names.tap(port.id)}"' for port in ports}
    profile_of = {port.id: number[tuple(sorted(set(port.security_group_ids)))] for port in ports}
    put("bridge", "set", "secured", taps.values())
    put("bridge", "set", "macs", (f"{taps[p.id]} . {m}" for p in ports for m in _macs(p)))
    addresses = {
        p.id: [ipaddress.ip_network(a, strict=False) for a in _addresses(p)] for p in ports
    }
    put(
        "bridge",
        "set",
        "ips4",
        (f"{taps[p.id]} . {a}" for p in ports for a in addresses[p.id] if a.version == 4),
    )
    put(
        "bridge",
        "set",
        "ips6",
        (
            f"{taps[p.id]} . {a}"
            for p in ports
            for a in ["::", "fe80::/10", *(str(a) for a in addresses[p.id] if a.version == 6)]
        ),
    )
    put(
        "bridge", "map", "source", (f"{taps[p.id]} : 0x{profile_of[p.id] << 16:08x}" for p in ports)
    )
    put(
        "bridge",
        "map",
        "destination",
        (f"{taps[p.id]} : jump to_{profile_of[p.id]}" for p in ports),
    )

    bridge = [f"{kind} {name} {{\n{spec}\n}}" for kind, name, spec in BRIDGE_SETS]
    bridge += [
        "chain prerouting {",
        "type filter hook prerouting priority -200; policy accept;",
        *ANTI_SPOOFING,
        "}",
        "chain forward {",
        "type filter hook forward priority -200; policy accept;",
        "oifname vmap @destination",
        "}",
    ]
    for index in number.values():
        bridge += [
            f"chain to_{index} {{",
            f"meta mark set meta mark & 0xffff0000 | 0x{index:08x}",
            "}",
        ]

    remote_groups = sorted(
        {
            rule.remote_group_id
            for profile in profiles
            for group_id in profile
            for rule in _rules(groups, group_id)
            if rule.remote_group_id
        }
    )
    inet = []
    for group_id in remote_groups:
        inet += [
            f"set rg4_{_id(group_id)} {{",
            "type ipv4_addr; flags interval;",
            "}",
            f"set rg6_{_id(group_id)} {{",
            "type ipv6_addr; flags interval;",
            "}",
        ]
        members = [ipaddress.ip_network(a, strict=False) for a in _members(groups, group_id)]
        put("inet", "set", f"rg4_{_id(group_id)}", (str(m) for m in members if m.version == 4))
        put("inet", "set", f"rg6_{_id(group_id)}", (str(m) for m in members if m.version == 6))
    zones = {names.bridge(net.id): index for index, net in enumerate(topology.networks, 1)}
    if zones:
        inet += [
            "chain zone {",
            "type filter hook prerouting priority raw; policy accept;",
            "ct zone set iifname map " + _elements(f'"{b}" : {z}' for b, z in zones.items()),
            "}",
        ]
    inet += [
        "chain forward {",
        "type filter hook forward priority filter; policy accept;",
        # Marks are global to a packet: another agent's (another cloud's) marks must not
        # send its packets into this agent's chains. Bridged traffic shows the bridge here.
        f'iifname != "{names.bridge("")}*" accept',
        "meta mark 0 accept",
        "ct state established,related accept",
        "ct state invalid drop",
        "meta mark & 0xffff0000 vmap "
        + _elements(f"0x{i << 16:08x} : jump egress_{i}" for i in number.values()),
        "meta mark & 0x0000ffff vmap "
        + _elements(f"0x{i:08x} : jump ingress_{i}" for i in number.values()),
        "}",
    ]
    for profile, index in number.items():
        rules = [rule for group_id in profile for rule in _rules(groups, group_id)]
        for direction, verdict, always in (
            ("egress", "return", ALWAYS_EGRESS),
            ("ingress", "accept", ALWAYS_INGRESS),
        ):
            matches = [*always, *(_match(r) for r in rules if r.direction == direction)]
            inet += [
                f"chain {direction}_{index} {{",
                *(f"{match} {verdict}" for match in dict.fromkeys(m for m in matches if m)),
                "drop",
                "}",
            ]
    return Ruleset("\n".join(bridge), "\n".join(inet), elements)


def _rules(groups: dict[str, SecurityGroup], group_id: str) -> tuple[SecurityGroupRule, ...]:
    return groups[group_id].rules if group_id in groups else ()


def _members(groups: dict[str, SecurityGroup], group_id: str) -> tuple[str, ...]:
    return groups[group_id].member_ips if group_id in groups else ()


def _macs(port: Port) -> list[str]:
    return [port.mac_address] + [mac or port.mac_address for _, mac in port.allowed_address_pairs]


def _addresses(port: Port) -> list[str]:
    """The addresses a port may send from: its fixed IPs and allowed address pairs."""
    return [f.ip_address for f in port.fixed_ips] + [ip for ip, _ in port.allowed_address_pairs]


def _match(rule: SecurityGroupRule) -> str | None:
    """The nft match of one rule (its verdict is added by the caller); None when the rule
    cannot apply (a remote prefix of the other IP version)."""
    nfproto, ip_keyword, icmp_keyword = IP_FAMILY[rule.ethertype]
    peer = "saddr" if rule.direction == "ingress" else "daddr"
    parts = [f"meta nfproto {nfproto}"]
    if rule.remote_ip_prefix:
        prefix = ipaddress.ip_network(rule.remote_ip_prefix, strict=False)
        if IP_FAMILY[f"IPv{prefix.version}"][1] != ip_keyword:
            return None
        parts.append(f"{ip_keyword} {peer} {prefix}")
    if rule.remote_group_id:
        set_name = ("rg4_" if ip_keyword == "ip" else "rg6_") + _id(rule.remote_group_id)
        parts.append(f"{ip_keyword} {peer} @{set_name}")
    protocol = _protocol(rule)
    if protocol is None:
        return " ".join(parts)
    parts.append(f"meta l4proto {protocol}")
    low, high = rule.port_range_min, rule.port_range_max
    if protocol in PORTS_PROTOCOLS and low is not None:
        parts.append(
            f"{protocol} dport {low}" if high in (None, low) else f"{protocol} dport {low}-{high}"
        )
    elif protocol in ("icmp", "ipv6-icmp") and low is not None:
        parts.append(f"{icmp_keyword} type {low}")
        if high is not None:
            parts.append(f"{icmp_keyword} code {high}")
    return " ".join(parts)


def _protocol(rule: SecurityGroupRule) -> str | None:
    """Neutron's protocol (name, number, None/'any') as nft names it."""
    protocol = (rule.protocol or "any").lower()
    protocol = PROTOCOL_NUMBERS.get(protocol, protocol)
    if protocol == "any":
        return None
    if protocol in ("icmp", "icmpv6", "ipv6-icmp"):
        return "icmp" if rule.ethertype == "IPv4" else "ipv6-icmp"
    if not re.fullmatch(r"[a-z0-9-]+", protocol):
        raise ValueError(f"protocol {rule.protocol!r}")
    return protocol
