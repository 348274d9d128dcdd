"""Networking figures: the Network API under concurrency, and the data plane's reaction times.

Run as root: `.venv/bin/python bench/network.py [--clients 32] [--ports 1024] [--rounds 5]`.

1. Port create: a real `nimbus up --driver fake` on free ports (no data plane: the fake
   driver runs no network agent), one network with a /21 subnet, `--ports` ports created
   by `--clients` concurrent clients through `POST /v2.0/ports`: p50/p95 at the client,
   and no fixed IP handed out twice (checked in the answers and in a listing).
2. nftables rule set for 1,000 ports (`nimbus.netdev.secgroups`): compile time, and
   `nft -f` load time as one transaction, into a scratch namespace of a unique tag
   (removed after).
3. Reaction times with a network namespace playing the guest behind a real network agent
   (the helpers of tests/system/test_network_agent.py: an in-process cloud, the topology
   built through the Neutron API, a unique tag, no agent registry): a security-group rule
   created → tcp/80 answers on the floating IP, deleted → it no longer does; a floating IP
   associated → it answers on tcp/80. Each `--rounds` times, timed at the client from
   sending the API request, probing with 50 ms TCP connects (the resolution).

Every namespace, link, nft table and dnsmasq of the bench's tags is removed at the end,
on failure too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.compute import Cpu, percentile
from bench.identity import _password_auth as password_auth  # the same admin login
from nimbus.netdev import nft
from nimbus.netdev.names import Names
from nimbus.netdev.secgroups import SecurityGroups, compile_ruleset
from nimbus.network.topology import tap_name
from nimbus.services.base import halt, launch
from nimbus.services.network import AgentOptions
from tests.api.conftest import start_cloud
from tests.api.network_helpers import admin_client, create, ok
from tests.netdev.support import Guest, new_tag, purge, sh, tcp_connects
from tests.netdev.test_secgroups import topology as secured_ports
from tests.processes import free_offset, rc_environment, start
from tests.system.test_network_agent import _netdev_port, build_topology, eventually, new_agent

#: Seconds a probe waits for a SYN's answer: the resolution of the reaction times.
PROBE = 0.05


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def quantiles(values: list[float], unit: float = 1000, suffix: str = "ms") -> str:
    return (
        f"p50 {statistics.median(values) * unit:.0f} {suffix}, "
        f"p95 {percentile(values, 95) * unit:.0f} {suffix}"
    )


# --- 1. port create under concurrency ------------------------------------------------------


async def create_ports(
    url: str, token: str, project: str, clients: int, count: int, cpu: Cpu
) -> None:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, headers={"X-Auth-Token": token}, limits=limits, timeout=120
    ) as client:
        unlimited = {"quota": {"port": -1}}
        ok(await client.put(f"/v2.0/quotas/{project}", json=unlimited))
        network = await create(client, "network", name="bench-ports")
        await create(client, "subnet", network_id=network["id"], ip_version=4, cidr="10.77.0.0/21")
        latencies: list[float] = []
        answered: list[str] = []
        queue = iter(range(count))

        async def worker() -> None:
            for _ in queue:
                began = time.perf_counter()
                response = await client.post(
                    "/v2.0/ports", json={"port": {"network_id": network["id"]}}
                )
                latencies.append(time.perf_counter() - began)
                answered.extend(f["ip_address"] for f in ok(response, 201)["port"]["fixed_ips"])

        began = time.perf_counter()
        cpu.since_mark()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - began
        used = cpu.since_mark()
        listed = ok(await client.get("/v2.0/ports", params={"network_id": network["id"]}))
        stored = [f["ip_address"] for p in listed["ports"] for f in p["fixed_ips"]]
        assert len(set(answered)) == len(answered) == count, "a fixed IP was handed out twice"
        assert sorted(stored) == sorted(answered), "the listing differs from the answers"
        print(
            f"port create, {clients} clients: {count} ports in {wall:.1f} s = "
            f"{count / wall:.0f}/s; {quantiles(latencies)}; server CPU {used / count * 1000:.1f} "
            f"ms per port; {len(set(answered))} distinct fixed IPs, no duplicate ({load()})"
        )
        quarter = count // 4
        print(
            f"  first {quarter} ports: {quantiles(latencies[:quarter])}; "
            f"last {quarter}: {quantiles(latencies[-quarter:])}"
        )


def port_figures(clients: int, count: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="nimbus-bench-network-"))
    running = None
    try:
        running = start(["up", "--data-dir", str(data), "--driver", "fake"], offset=free_offset())
        env = rc_environment(data / "adminrc")
        with httpx.Client(base_url=running.url("identity")) as identity:
            issued = identity.post("/v3/auth/tokens", json=password_auth(env))
            token = issued.headers["x-subject-token"]
            project = issued.json()["token"]["project"]["id"]
        cpu = Cpu(running.process.pid)
        uvloop.run(create_ports(running.url("network"), token, project, clients, count, cpu))
    finally:
        if running is not None:
            running.stop()
        shutil.rmtree(data, ignore_errors=True)


# --- 2. nftables rule set for 1,000 ports ---------------------------------------------------


async def ruleset_figures(ports: int, rounds: int) -> None:
    compiled, loaded = [], []
    for _ in range(rounds):
        names = Names(new_tag())
        namespace = f"{names.tag}scratch"
        sh("ip", "netns", "add", namespace)
        try:
            world = secured_ports(ports)
            began = time.perf_counter()
            script = SecurityGroups(names).script(compile_ruleset(names, world))
            compiled.append(time.perf_counter() - began)
            began = time.perf_counter()
            await nft.apply(script, netns=namespace)
            loaded.append(time.perf_counter() - began)
            listed = sh("ip", "netns", "exec", namespace, "nft", "list", "ruleset").stdout
            assert listed.count(" : jump to_1") == ports, "not every port was loaded"
        finally:
            purge(names.tag)
    print(
        f"nftables rule set, {ports} ports, {rounds} times: compile {quantiles(compiled)}; "
        f"`nft -f` load {quantiles(loaded)} ({load()})"
    )


# --- 3. reaction times behind a real agent --------------------------------------------------


async def answers(address: str) -> bool:
    return await asyncio.to_thread(tcp_connects, address, 80, PROBE)


async def silent(address: str) -> bool:
    return not await answers(address)


async def reaction_figures(rounds: int) -> None:
    tag = "b" + secrets.token_hex(2)
    octet = secrets.randbelow(200) + 20
    data = Path(tempfile.mkdtemp(prefix="nimbus-bench-agent-"))
    state = data / "network"
    cloud, process = await start_cloud(data, transport_url=f"inprocess://{data.name}")
    client = await admin_client(cloud)
    options = AgentOptions(tag=tag, state_dir=state, host="bench-host", registry=None)
    agent = new_agent(cloud, options)
    try:
        made = await build_topology(cloud, client, octet)
        port = await create(
            client,
            "port",
            network_id=made["net1"]["id"],
            security_groups=[made["default"], made["web"]],
            **{"binding:host_id": options.host},
        )
        fip = await create(
            client, "floatingip", floating_network_id=made["ext"]["id"], port_id=port["id"]
        )
        address = fip["floating_ip_address"]
        guest = Guest(f"{tag}g-g1", _netdev_port(port))
        guest.create(tap_name(agent.names, port["id"]))
        await launch(agent)
        guest.configure(24, made["sub1"]["gateway_ip"])
        guest.serve_http(80)
        print(f"agent up (tag {tag}), guest namespace {guest.namespace} behind {address}")
        rule = {
            "security_group_id": made["web"],
            "direction": "ingress",
            "protocol": "tcp",
            "port_range_min": 80,
            "port_range_max": 80,
            "remote_ip_prefix": "0.0.0.0/0",
        }
        opened, closed = [], []
        assert await silent(address), "no rule allows tcp/80 yet"
        for _ in range(rounds):
            began = time.monotonic()
            made_rule = await create(client, "security_group_rule", **rule)
            await eventually(lambda: answers(address), 5)
            opened.append(time.monotonic() - began)
            began = time.monotonic()
            deleted = await client.delete(f"/v2.0/security-group-rules/{made_rule['id']}")
            assert deleted.status_code == 204, deleted.text
            await eventually(lambda: silent(address), 5)
            closed.append(time.monotonic() - began)
        print(f"rule created → tcp/80 answers: {quantiles(opened)} ({load()})")
        print(f"rule deleted → tcp/80 silent: {quantiles(closed)}")
        await create(client, "security_group_rule", **rule)
        await eventually(lambda: answers(address), 5)
        associated = []
        for _ in range(rounds):
            body = {"floatingip": {"port_id": None}}
            ok(await client.put(f"/v2.0/floatingips/{fip['id']}", json=body))
            await eventually(lambda: silent(address), 5)
            began = time.monotonic()
            body = {"floatingip": {"port_id": port["id"]}}
            ok(await client.put(f"/v2.0/floatingips/{fip['id']}", json=body))
            await eventually(lambda: answers(address), 5)
            associated.append(time.monotonic() - began)
        print(f"floating IP associated → answers on tcp/80: {quantiles(associated)} ({load()})")
    finally:
        await halt(agent)
        await client.aclose()
        await process.stop()
        purge(tag)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--ports", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/network.py skipped: it needs root (namespaces, links, nftables)")
        return
    port_figures(options.clients, options.ports)
    uvloop.run(ruleset_figures(1000, options.rounds))
    uvloop.run(reaction_figures(options.rounds))


if __name__ == "__main__":
    main()
