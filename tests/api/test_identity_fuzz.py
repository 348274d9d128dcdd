"""No input produces a 500: every route of the identity table, every method, with
bodies and path values a careless or hostile client might send."""

from __future__ import annotations

import re

import pytest

from nimbus.api.identity.routes import ROUTES
from tests.api.conftest import Cloud

BODIES: list[bytes] = [
    b"",
    b"not json",
    b"[]",
    b"null",
    b'"string"',
    b"{}",
    b'{"x": 1}',
    b'{"project": null, "user": [], "role": 7, "auth": {"identity": {}}}',
    b'{"user": {"name": {"nested": true}, "password": 12, "enabled": "yes"}}',
    b'{"project": {"name": "\\u0000\\ud800", "tags": ["a/b", "' + b"t" * 300 + b'"]}}',
    b'{"group": {"name": 1e309}, "domain": {"enabled": 1}}',
    b'{"endpoint": {"interface": "sideways", "url": 5, "service_id": null}}',
    b'{"application_credential": {"name": "x", "expires_at": "tomorrow", "roles": [1]}}',
    b'{"role": {"name": ""}, "region": {"parent_region_id": "x"}}',
    b'{"user": {"password": "p", "original_password": "' + b"q" * 100 + b'"}}',
]
WEIRD_IDS = ["does-not-exist", "%00", "a" * 300, "default", "..", "%F0%9F%92%A5"]


def _paths() -> list[str]:
    paths = []
    for path, _ in ROUTES:
        for weird in WEIRD_IDS:
            paths.append(re.sub(r"\{[a-z_]+\}", weird, path))
    return sorted(set(paths))


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
async def test_no_500_anywhere(cloud: Cloud, method: str) -> None:
    token = await cloud.admin_token()
    failures = []
    async with cloud.client() as client:
        for path in _paths():
            for body in BODIES if method in ("POST", "PUT", "PATCH") else [b""]:
                response = await client.request(
                    method,
                    path,
                    content=body,
                    headers={
                        "X-Auth-Token": token,
                        "X-Subject-Token": "garbage",
                        "Content-Type": "application/json",
                    },
                )
                if response.status_code >= 500:
                    failures.append(f"{method} {path} {body[:60]!r} -> {response.status_code}")
    assert failures == []
