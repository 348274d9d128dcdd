"""Builds bounded by `build_timeout` (Nova's instance_build_timeout): a spawn that hangs
is cancelled and aborted, and a build its agent left behind is failed by the agent's
periodic check; either way the guest, its ports and its claims are gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from nimbus.compute import instances, states
from nimbus.compute.options import ComputeOptions
from nimbus.compute.placement_client import LocalPlacement
from nimbus.services.compute import BUILD_EVENT, BUILD_STUCK, ComputeAgent
from tests.api.compute_helpers import admin_client as compute_admin
from tests.api.compute_helpers import ok
from tests.api.conftest import Cloud, running_compute
from tests.api.network_helpers import admin_client as network_admin
from tests.api.network_helpers import network_with_subnet
from tests.api.server_helpers import LATEST, active_image, boot_ok, wait_status

#: Seconds: short for the tests, long enough for a fake build on a busy 2-core machine.
BUILD_TIMEOUT = 1.0


@pytest.fixture(scope="module")
async def cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cloud]:
    """Two fake hosts whose agents time builds out after BUILD_TIMEOUT."""
    options = ComputeOptions(fake_hosts=2, report_interval=5, build_timeout=BUILD_TIMEOUT)
    async with running_compute(tmp_path_factory.mktemp("build-timeout"), options) as cloud:
        yield cloud


@pytest.fixture(scope="module")
async def world(cloud: Cloud) -> dict[str, str]:
    """An image and a network to boot on (so that there are ports to release)."""
    image = await active_image(cloud, "timeout-image")
    async with await network_admin(cloud) as neutron:
        net, _ = await network_with_subnet(neutron, "timeout-net", "10.30.0.0/24")
    return {"image": image, "net": net["id"]}


def _agents(cloud: Cloud) -> list[ComputeAgent]:
    return [d for d in cloud.process.daemons if isinstance(d, ComputeAgent)]


async def _guests(cloud: Cloud) -> set[str]:
    """Every guest of every fake host."""
    return {uuid for agent in _agents(cloud) for uuid in await agent.driver.list_instances()}


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never true: {what}")


async def _boot(nova: httpx.AsyncClient, world: dict[str, str], name: str) -> str:
    """A server on the test network (one port); its id."""
    made = await boot_ok(nova, world["image"], name, networks=[{"uuid": world["net"]}])
    return made["id"]


async def _ports(neutron: httpx.AsyncClient, server: str) -> list[dict[str, Any]]:
    return ok(await neutron.get("/v2.0/ports", params={"device_id": server}))["ports"]


async def _assert_nothing_left(cloud: Cloud, neutron: httpx.AsyncClient, uuid: str) -> None:
    """Soon no guest, port or claim of `uuid`, and no usage on any host (the cleanup may
    end just after the server shows ERROR)."""
    placement = LocalPlacement(cloud.process.db)

    async def cleaned_up() -> bool:
        return (
            uuid not in await _guests(cloud)
            and not await _ports(neutron, uuid)
            and not await placement.allocations_of(uuid)
        )

    await _eventually(cleaned_up, f"guest, ports and claims of {uuid} gone")
    for agent in _agents(cloud):
        assert not any((await placement.usages(agent.node_uuid)).values()), agent.host


async def test_a_hung_spawn_is_cancelled_and_the_build_aborted(
    cloud: Cloud, world: dict[str, str]
) -> None:
    for agent in _agents(cloud):
        agent.driver.spawn_hangs = True
    try:
        async with (
            await compute_admin(cloud, LATEST) as nova,
            await network_admin(cloud) as neutron,
        ):
            uuid = await _boot(nova, world, "hangs")

            async def spawning() -> bool:
                return uuid in await _guests(cloud)

            # The guest exists while its spawn hangs: the timeout must destroy it.
            await _eventually(spawning, "the guest made")
            assert len(await _ports(neutron, uuid)) == 1
            server = await wait_status(nova, uuid, "ERROR", timeout=5 * BUILD_TIMEOUT)
            assert server["fault"]["message"] == (
                f"Build of instance {uuid} aborted: "
                f"Instance build timed out after {BUILD_TIMEOUT:g} seconds."
            )
            await _assert_nothing_left(cloud, neutron, uuid)
            # Aborted, not rescheduled: one build, on one host, which failed.
            (action,) = ok(await nova.get(f"/v2.1/servers/{uuid}/os-instance-actions"))[
                "instanceActions"
            ]
            shown = ok(
                await nova.get(f"/v2.1/servers/{uuid}/os-instance-actions/{action['request_id']}")
            )
            builds = [e for e in shown["instanceAction"]["events"] if e["event"] == BUILD_EVENT]
            assert [e["result"] for e in builds] == ["Error"]
            assert (await nova.delete(f"/v2.1/servers/{uuid}")).status_code == 204
    finally:
        for agent in _agents(cloud):
            agent.driver.spawn_hangs = False


async def test_a_build_its_agent_left_behind_is_failed_by_the_periodic_check(
    cloud: Cloud, world: dict[str, str]
) -> None:
    async with await compute_admin(cloud, LATEST) as nova, await network_admin(cloud) as neutron:
        uuid = await _boot(nova, world, "left")
        await wait_status(nova, uuid, "ACTIVE")
        assert uuid in await _guests(cloud)
        # As an agent that died mid-build leaves it: in BUILD on its host, with a guest,
        # a port and claims, and no spawn running.
        async with cloud.process.db.transaction() as session:
            assert await instances.transition(
                session, uuid, {"vm_state": states.BUILDING, "task_state": states.SPAWNING}
            )
        server = await wait_status(nova, uuid, "ERROR", timeout=5 * BUILD_TIMEOUT)
        assert server["fault"]["message"] == BUILD_STUCK
        await _assert_nothing_left(cloud, neutron, uuid)
        assert (await nova.delete(f"/v2.1/servers/{uuid}")).status_code == 204
