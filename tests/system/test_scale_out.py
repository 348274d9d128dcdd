"""The scale-out mode: every role its own process, on PostgreSQL and RabbitMQ.

One API process, one conductor + scheduler process and two compute agents (the fake
driver, two host names) share a PostgreSQL database and a RabbitMQ broker, as the
daemons of a multi-host cloud would. Servers booted through the API must reach both
agents over the broker, and actions must reach the agent of the server's host.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nimbus.virt.fake import qcow2_bytes
from tests.processes import Running
from tests.system.scale_out import (
    admin_headers,
    agents_up,
    serve,
    status_is,
    upload_image,
    wait,
)

pytestmark = pytest.mark.system


@pytest.fixture
def cloud(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Running, str]]:
    """api | conductor+scheduler | compute A | compute B, each a process of its own."""
    suffix = uuid.uuid4().hex[:6]
    computes = [["--driver", "fake", "--host", f"scale-{x}-{suffix}"] for x in "ab"]
    with serve(postgres_url, tmp_path, computes) as api:
        yield api, suffix


def test_roles_in_separate_processes_share_one_cloud(cloud: tuple[Running, str]) -> None:
    api, suffix = cloud
    headers = admin_headers(api)
    compute = api.url("compute")
    hosts = {f"scale-a-{suffix}", f"scale-b-{suffix}"}
    agents_up(api, headers, hosts)

    image = upload_image(api, headers, "scale", qcow2_bytes(1 << 30))
    group = httpx.post(
        f"{compute}/v2.1/os-server-groups",
        headers=headers,
        json={"server_group": {"name": "apart", "policy": "anti-affinity"}},
    )
    assert group.status_code == 200, group.text
    booted = []
    for index in range(2):
        response = httpx.post(
            f"{compute}/v2.1/servers",
            headers=headers,
            json={
                "server": {
                    "name": f"scale-{index}",
                    "imageRef": image,
                    "flavorRef": "1",
                    "networks": "none",
                },
                "os:scheduler_hints": {"group": group.json()["server_group"]["id"]},
            },
        )
        assert response.status_code == 202, response.text
        booted.append(response.json()["server"]["id"])

    active = [wait(lambda u=u: status_is(api, headers, u, "ACTIVE"), f"{u} ACTIVE") for u in booted]
    # The anti-affinity group forces one server onto each agent's host.
    assert {server["OS-EXT-SRV-ATTR:host"] for server in active} == hosts

    # An action reaches the agent of the server's host over the broker, and back.
    stopped = httpx.post(
        f"{compute}/v2.1/servers/{booted[1]}/action", headers=headers, json={"os-stop": None}
    )
    assert stopped.status_code == 202, stopped.text
    wait(lambda: status_is(api, headers, booted[1], "SHUTOFF"), "SHUTOFF")
    events = httpx.get(
        f"{compute}/v2.1/servers/{booted[1]}/os-instance-actions", headers=headers
    ).json()["instanceActions"]
    assert {"create", "stop"} <= {event["action"] for event in events}

    for server in booted:
        assert httpx.delete(f"{compute}/v2.1/servers/{server}", headers=headers).status_code == 204

    def all_gone() -> bool:
        return all(
            httpx.get(f"{compute}/v2.1/servers/{u}", headers=headers).status_code == 404
            for u in booted
        )

    wait(all_gone, "the deletes")
    usages = httpx.get(
        f"{api.url('placement')}/resource_providers",
        headers={"X-Auth-Token": headers["X-Auth-Token"]},
    ).json()["resource_providers"]
    for provider in usages:
        if provider["name"] in hosts:
            used = httpx.get(
                f"{api.url('placement')}/resource_providers/{provider['uuid']}/usages",
                headers={"X-Auth-Token": headers["X-Auth-Token"]},
            ).json()["usages"]
            assert not any(used.values()), (provider["name"], used)
