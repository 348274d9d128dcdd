"""Key pairs: a user's public keys (ssh or x509), imported or generated, named
uniquely per user.

Nova fingerprints an ssh key by the MD5 of its decoded blob and an x509 certificate
by its SHA-1, both as colon-separated hex; a generated pair returns its private key
exactly once (it is never stored). Key generation is slow (an RSA-2048 prime search),
so callers run it off the event loop (`generate` is synchronous on purpose).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute import quotas
from nimbus.compute.rows import add_unique
from nimbus.db.models.compute import KeyPair
from nimbus.errors import BadRequest, Conflict, NotFound

SSH = "ssh"
X509 = "x509"
TYPES = (SSH, X509)


class KeypairNotFound(NotFound):
    def __init__(self, name: str, user_id: str) -> None:
        super().__init__(f"Keypair {name} not found for user {user_id}")


def _colons(hexdigest: str) -> str:
    return ":".join(hexdigest[i : i + 2] for i in range(0, len(hexdigest), 2))


def _invalid(reason: str) -> BadRequest:
    return BadRequest(f"Keypair data is invalid: {reason}")


def fingerprint(public_key: str, key_type: str = SSH) -> str:
    """Nova's fingerprint of a public key, refusing one that does not parse."""
    data = public_key.strip().encode()
    try:
        if key_type == X509:
            certificate = x509.load_pem_x509_certificate(data)
            return _colons(binascii.hexlify(certificate.fingerprint(hashes.SHA1())).decode())
        serialization.load_ssh_public_key(data)
        blob = base64.b64decode(data.split()[1])
    except Exception:
        raise _invalid("failed to generate fingerprint") from None
    return _colons(hashlib.md5(blob, usedforsecurity=False).hexdigest())


@dataclass(frozen=True)
class Generated:
    public_key: str
    private_key: str
    fingerprint: str


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def generate(key_type: str, user_id: str) -> Generated:
    """A new RSA-2048 pair: an OpenSSH public key ("… Generated-by-Nova", as upstream
    comments it), or for x509 a self-signed certificate naming the user."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == X509:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        public = certificate.public_bytes(serialization.Encoding.PEM).decode()
    else:
        openssh = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        public = f"{openssh.decode()} Generated-by-Nova"
    return Generated(public, _private_pem(key), fingerprint(public, key_type))


async def get(session: AsyncSession, user_id: str, name: str) -> KeyPair:
    row = await session.scalar(
        select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name)
    )
    if row is None:
        raise KeypairNotFound(name, user_id)
    return row


async def list_keypairs(
    session: AsyncSession, user_id: str, *, limit: int | None = None, marker: str | None = None
) -> list[KeyPair]:
    """A user's key pairs by name; `marker` is the name the previous page ended with."""
    query = select(KeyPair).where(KeyPair.user_id == user_id).order_by(KeyPair.name)
    if marker is not None:
        await _marker_exists(session, user_id, marker)
        query = query.where(KeyPair.name > marker)
    if limit is not None:
        query = query.limit(limit)
    return list(await session.scalars(query))


async def _marker_exists(session: AsyncSession, user_id: str, marker: str) -> None:
    found = await session.scalar(
        select(KeyPair.id).where(KeyPair.user_id == user_id, KeyPair.name == marker)
    )
    if found is None:
        raise BadRequest(f"Marker {marker} could not be found.")


async def create(
    session: AsyncSession,
    *,
    project_id: str,
    user_id: str,
    name: str,
    public_key: str,
    key_type: str,
    key_fingerprint: str,
) -> KeyPair:
    """Store a key pair after the per-user quota check (403) and the name check (409)."""
    await quotas.check(session, project_id, user_id, key_pairs=1)
    exists = await session.scalar(
        select(KeyPair.id).where(KeyPair.user_id == user_id, KeyPair.name == name)
    )
    if exists is not None:
        raise Conflict(f"Key pair '{name}' already exists.")
    row = KeyPair(
        name=name,
        user_id=user_id,
        public_key=public_key,
        type=key_type,
        fingerprint=key_fingerprint,
    )
    await add_unique(session, row, f"Key pair '{name}' already exists.")
    return row


async def delete(session: AsyncSession, user_id: str, name: str) -> None:
    await session.delete(await get(session, user_id, name))
