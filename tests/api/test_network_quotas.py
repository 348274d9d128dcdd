"""Quotas: defaults, per-project limits enforced at create (409 OverQuota), details."""

from __future__ import annotations

from tests.api.conftest import Cloud
from tests.api.network_helpers import admin_client, create, member_client, neutron_error, ok


async def test_quotas(cloud: Cloud) -> None:
    async with (
        await admin_client(cloud) as admin,
        await member_client(cloud, "q-alice", "q-proj-a") as alice,
    ):
        project_id = (await create(alice, "network", name="q-first"))["project_id"]
        base = f"/v2.0/quotas/{project_id}"
        defaults = ok(await alice.get(f"{base}/default"))["quota"]
        assert defaults == {
            "network": 100,
            "subnet": 100,
            "port": 500,
            "router": 10,
            "floatingip": 50,
            "security_group": 10,
            "security_group_rule": 100,
        }
        assert ok(await alice.get(base))["quota"] == defaults
        response = await alice.put(base, json={"quota": {"network": 2}})
        neutron_error(response, 403, "PolicyNotAuthorized")
        neutron_error(await alice.get("/v2.0/quotas/other-project"), 403, "PolicyNotAuthorized")

        updated = ok(await admin.put(base, json={"quota": {"network": 2, "router": 0}}))["quota"]
        assert updated["network"] == 2 and updated["router"] == 0 and updated["port"] == 500
        await create(alice, "network", name="q-second")
        response = await alice.post("/v2.0/networks", json={"network": {"name": "q-third"}})
        assert "network" in neutron_error(response, 409, "OverQuota")
        response = await alice.post("/v2.0/routers", json={"router": {"name": "q-router"}})
        neutron_error(response, 409, "OverQuota")
        details = ok(await alice.get(f"{base}/details"))["quota"]
        assert details["network"] == {"limit": 2, "used": 2, "reserved": 0}
        listed = ok(await admin.get("/v2.0/quotas"))["quotas"]
        assert any(q["project_id"] == project_id and q["network"] == 2 for q in listed)
        response = await admin.put(base, json={"quota": {"network": -5}})
        neutron_error(response, 400, "InvalidInput")
        response = await admin.put(base, json={"quota": {"volumes": 5}})
        neutron_error(response, 400, "HTTPBadRequest")

        assert (await admin.delete(base)).status_code == 204
        assert ok(await alice.get(base))["quota"] == defaults
        await create(alice, "network", name="q-third")
