"""Key pairs: generate and import, per user; shapes and codes per microversion."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.api.compute_helpers import admin_client, fault, member_client, ok
from tests.api.conftest import Cloud


def ssh_public_key() -> tuple[str, str]:
    """A fresh ed25519 public key in OpenSSH form and its MD5 fingerprint."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    text = key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    digest = hashlib.md5(base64.b64decode(text.split()[1])).hexdigest()
    return text, ":".join(digest[i : i + 2] for i in range(0, 32, 2))


async def test_generate_returns_the_private_key_once(cloud: Cloud) -> None:
    async with await admin_client(cloud) as client:
        response = await client.post("/v2.1/os-keypairs", json={"keypair": {"name": "gen-21"}})
        created = ok(response, 200)["keypair"]
        assert set(created) == {"name", "public_key", "fingerprint", "user_id", "private_key"}
        assert created["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
        assert created["public_key"].startswith("ssh-rsa ") and created["public_key"].endswith(
            " Generated-by-Nova"
        )
        assert len(created["fingerprint"].split(":")) == 16
        shown = ok(await client.get("/v2.1/os-keypairs/gen-21"))["keypair"]
        assert "private_key" not in shown and "type" not in shown
        assert set(shown) == {
            "name",
            "public_key",
            "fingerprint",
            "user_id",
            "created_at",
            "deleted",
            "deleted_at",
            "id",
            "updated_at",
        }
        assert shown["deleted"] is False and shown["updated_at"] is None
        assert (await client.delete("/v2.1/os-keypairs/gen-21")).status_code == 202


async def test_import_and_x509_from_22(cloud: Cloud) -> None:
    public, fingerprint = ssh_public_key()
    async with await admin_client(cloud, "2.2") as client:
        response = await client.post(
            "/v2.1/os-keypairs", json={"keypair": {"name": "imported", "public_key": public}}
        )
        created = ok(response, 201)["keypair"]
        assert created == {
            "name": "imported",
            "public_key": public,
            "fingerprint": fingerprint,
            "type": "ssh",
            "user_id": created["user_id"],
        }
        x509 = ok(
            await client.post(
                "/v2.1/os-keypairs", json={"keypair": {"name": "cert", "type": "x509"}}
            ),
            201,
        )["keypair"]
        assert x509["type"] == "x509" and x509["public_key"].startswith(
            "-----BEGIN CERTIFICATE-----"
        )
        assert len(x509["fingerprint"].split(":")) == 20
        listed = ok(await client.get("/v2.1/os-keypairs"))["keypairs"]
        assert [k["keypair"]["name"] for k in listed] == ["cert", "imported"]
        assert set(listed[0]["keypair"]) == {"name", "public_key", "fingerprint", "type"}
        message = fault(
            await client.post(
                "/v2.1/os-keypairs", json={"keypair": {"name": "imported", "public_key": public}}
            ),
            409,
            "conflictingRequest",
        )
        assert message == "Key pair 'imported' already exists."
        message = fault(
            await client.post(
                "/v2.1/os-keypairs",
                json={"keypair": {"name": "junk", "public_key": "ssh-rsa nonsense"}},
            ),
            400,
        )
        assert message == "Keypair data is invalid: failed to generate fingerprint"
        assert (await client.delete("/v2.1/os-keypairs/cert")).status_code == 204
        assert (await client.delete("/v2.1/os-keypairs/imported")).status_code == 204
        message = fault(await client.get("/v2.1/os-keypairs/imported"), 404, "itemNotFound")
        assert message.startswith("Keypair imported not found for user ")


async def test_bad_names_and_bodies(cloud: Cloud) -> None:
    async with await admin_client(cloud, "2.91") as client:
        for body in (
            {"keypair": {"name": "has/slash"}},
            {"keypair": {"name": "dotted.name"}},
            {"keypair": {"name": " lead"}},
            {"keypair": {"name": ""}},
            {"keypair": {"name": "k", "type": "dsa"}},
            {"keypair": {"name": "k", "colour": "blue"}},
            {"keypair": {}},
            {},
        ):
            fault(await client.post("/v2.1/os-keypairs", json=body), 400, "badRequest")


async def test_generation_removed_at_292(cloud: Cloud) -> None:
    public, _ = ssh_public_key()
    async with await admin_client(cloud, "2.92") as client:
        message = fault(
            await client.post("/v2.1/os-keypairs", json={"keypair": {"name": "no-gen"}}), 400
        )
        assert "'public_key' is a required property" in message
        created = ok(
            await client.post(
                "/v2.1/os-keypairs",
                json={"keypair": {"name": "me@host.example", "public_key": public}},
            ),
            201,
        )
        assert (
            created["keypair"]["name"] == "me@host.example"
            and "private_key" not in created["keypair"]
        )
        assert (await client.delete("/v2.1/os-keypairs/me@host.example")).status_code == 204


async def test_paging_from_235(cloud: Cloud) -> None:
    async with await member_client(cloud, "key-pager", "2.35") as client:
        for name in ("page-a", "page-b", "page-c"):
            public, _ = ssh_public_key()
            ok(
                await client.post(
                    "/v2.1/os-keypairs", json={"keypair": {"name": name, "public_key": public}}
                ),
                201,
            )
        first = ok(await client.get("/v2.1/os-keypairs", params={"limit": 2}))
        assert [k["keypair"]["name"] for k in first["keypairs"]] == ["page-a", "page-b"]
        assert "marker=page-b" in first["keypairs_links"][0]["href"]
        rest = ok(await client.get("/v2.1/os-keypairs", params={"marker": "page-b"}))
        assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["page-c"]
        fault(await client.get("/v2.1/os-keypairs", params={"marker": "nope"}), 400)


async def test_users_see_only_their_own_and_admins_act_for_others(cloud: Cloud) -> None:
    public, _ = ssh_public_key()
    async with await member_client(cloud, "key-owner", "2.10") as owner:
        ok(
            await owner.post(
                "/v2.1/os-keypairs", json={"keypair": {"name": "mine", "public_key": public}}
            ),
            201,
        )
        owner_id = ok(await owner.get("/v2.1/os-keypairs/mine"))["keypair"]["user_id"]
    async with await member_client(cloud, "key-stranger", "2.10") as stranger:
        fault(await stranger.get("/v2.1/os-keypairs/mine"), 404)
        assert ok(await stranger.get("/v2.1/os-keypairs"))["keypairs"] == []
        message = fault(
            await stranger.get("/v2.1/os-keypairs", params={"user_id": owner_id}), 403, "forbidden"
        )
        assert message == "Policy doesn't allow os_compute_api:os-keypairs:index to be performed."
        fault(
            await stranger.post(
                "/v2.1/os-keypairs",
                json={"keypair": {"name": "x", "public_key": public, "user_id": owner_id}},
            ),
            403,
        )
    async with await admin_client(cloud, "2.10") as admin:
        listed = ok(await admin.get("/v2.1/os-keypairs", params={"user_id": owner_id}))["keypairs"]
        assert [k["keypair"]["name"] for k in listed] == ["mine"]
        created = ok(
            await admin.post(
                "/v2.1/os-keypairs",
                json={"keypair": {"name": "given", "public_key": public, "user_id": owner_id}},
            ),
            201,
        )
        assert created["keypair"]["user_id"] == owner_id
        assert (
            await admin.delete("/v2.1/os-keypairs/given", params={"user_id": owner_id})
        ).status_code == 204
    async with await admin_client(cloud, "2.75") as admin:
        fault(await admin.get("/v2.1/os-keypairs", params={"colour": "x"}), 400)
