"""No input produces a 500 on the compute catalog resources (flavors, key pairs,
server groups, zones, aggregates, services, hypervisors, limits, quotas): every route,
every method, hostile bodies, ids and microversions."""

from __future__ import annotations

import re

import pytest

from nimbus.api.compute.routes import CATALOG
from tests.api.conftest import Cloud

BODIES: list[bytes] = [
    b"",
    b"not json",
    b"[]",
    b"null",
    b"{}",
    b'{"x": 1}',
    b'{"flavor": {"name": "f", "ram": 1e309, "vcpus": "1", "disk": -0, "id": {"a": 1}}}',
    b'{"flavor": {"name": "\\u0000\\ud800", "ram": 1, "vcpus": 1, "disk": 1, "swap": "x"}}',
    b'{"flavor": {"description": 7}, "extra_specs": {"a": [1]}}',
    b'{"keypair": {"name": "k", "public_key": "ssh-rsa AAAA", "type": "x509"}}',
    b'{"server_group": {"name": "g", "policies": ["affinity"], "rules": []}}',
    b'{"server_group": {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": "x"}}}',
    b'{"aggregate": {"name": 5, "availability_zone": ""}, "add_host": {"host": null}}',
    b'{"set_metadata": {"metadata": {"k": {"nested": 1}}}}',
    b'{"addTenantAccess": {"tenant": ""}}',
    b'{"quota_set": {"cores": "1.5", "force": "maybe"}}',
    b'{"quota_class_set": {"ram": -5}}',
    b'{"status": "disabled", "forced_down": [], "host": "h", "binary": "nova-compute"}',
    b'{"cache": [{"id": "x"}]}',
    b'{"hw:cpu_policy": "' + b"d" * 300 + b'"}',
]
WEIRD_IDS = ["does-not-exist", "%00", "a" * 300, "1", "%F0%9F%92%A5"]
VERSIONS = ["2.1", "2.100"]


def _paths(method: str) -> list[str]:
    """The routes that have `method` (a 405 elsewhere is the table's, not a handler's),
    with every path parameter replaced by each weird id."""
    paths = set()
    for path, methods in CATALOG:
        if method in methods:
            for weird in WEIRD_IDS:
                paths.add(re.sub(r"\{[a-z_]+\}", weird, path))
    return sorted(paths)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
async def test_no_500_anywhere(cloud: Cloud, method: str) -> None:
    token = await cloud.admin_token()
    failures = []
    async with cloud.client("compute") as client:
        for version in VERSIONS:
            for path in _paths(method):
                for body in BODIES if method in ("POST", "PUT") else [b""]:
                    response = await client.request(
                        method,
                        path,
                        content=body,
                        params={"limit": "x", "marker": "nope", "with_servers": "maybe"}
                        if method == "GET" and "os-" in path
                        else None,
                        headers={
                            "X-Auth-Token": token,
                            "Content-Type": "application/json",
                            "OpenStack-API-Version": f"compute {version}",
                        },
                    )
                    if response.status_code >= 500:
                        failures.append(f"{method} {version} {path} {body[:50]!r}")
    assert failures == []
