"""The foundation's acceptance, as a new user runs it: the real `openstack` CLI
against a real `nimbus up`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli import as_json, openstack
from tests.processes import Running, free_offset, rc_environment, start


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("cli-cloud")
    running = start(["up", "--data-dir", str(data_dir), "--driver", "fake"], offset=free_offset())
    try:
        yield running, rc_environment(data_dir / "adminrc")
    finally:
        assert running.stop() == 0


def test_admin_workflow(cloud: tuple[Running, dict[str, str]]) -> None:
    running, admin = cloud
    token = as_json(admin, "token", "issue")
    assert token["expires"] and token["project_id"] and token["user_id"]

    endpoints = as_json(admin, "endpoint", "list")
    identity = [e for e in endpoints if e["Service Type"] == "identity"]
    assert {e["Interface"] for e in identity} == {"public", "internal", "admin"}
    assert {e["URL"] for e in identity} == {f"{running.url()}/v3"}

    catalog = as_json(admin, "catalog", "list")
    assert "identity" in [c["Type"] for c in catalog]

    demo = as_json(admin, "project", "create", "demo")
    alice = as_json(admin, "user", "create", "--password", "s3cret", "alice")
    openstack(admin, "role", "add", "--project", "demo", "--user", "alice", "member")
    rows = as_json(admin, "role", "assignment", "list", "--names")
    assert {"Role": "member", "User": "alice@Default", "Project": "demo@Default"}.items() <= next(
        r for r in rows if r["User"] == "alice@Default"
    ).items()
    assert any(r["Role"] == "admin" and r["User"] == "admin@Default" for r in rows)

    alice_env = {
        **admin,
        "OS_USERNAME": "alice",
        "OS_PASSWORD": "s3cret",
        "OS_PROJECT_NAME": "demo",
    }
    alice_token = as_json(alice_env, "token", "issue")
    assert alice_token["project_id"] == demo["id"]
    assert alice_token["user_id"] == alice["id"]

    refused = openstack(alice_env, "user", "list", ok=False)
    assert refused.returncode != 0
    assert "403" in refused.stderr


def test_revoked_token_is_unusable(cloud: tuple[Running, dict[str, str]]) -> None:
    _, admin = cloud
    token = as_json(admin, "token", "issue")["id"]
    token_env = {
        "OS_AUTH_TYPE": "token",
        "OS_TOKEN": token,
        "OS_AUTH_URL": admin["OS_AUTH_URL"],
        "OS_PROJECT_NAME": "admin",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_IDENTITY_API_VERSION": "3",
    }
    assert as_json(token_env, "project", "list")
    openstack(admin, "token", "revoke", token)
    refused = openstack(token_env, "project", "list", ok=False)
    assert refused.returncode != 0
    assert "401" in refused.stderr or "authentication" in refused.stderr.lower()
