"""Token format: what a token carries, encrypted and signed with Fernet.

A token is not stored anywhere: it carries who it was issued to, for which scope,
when it expires and its audit id, sealed by keys every API process shares through
the database. Revocation is recorded separately (see revocation.py).
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.identity import FernetKey

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Scope:
    """What a token is for: a project, a domain, the whole system, or nothing yet."""

    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False

    @property
    def kind(self) -> str:
        if self.project_id:
            return "project"
        if self.domain_id:
            return "domain"
        return "system" if self.system else "unscoped"


@dataclass(frozen=True)
class TokenData:
    """The sealed content of a token."""

    user_id: str
    methods: tuple[str, ...]
    scope: Scope
    issued_at: datetime
    expires_at: datetime
    audit_ids: tuple[str, ...]
    app_cred_id: str | None = None
    extra: dict = field(default_factory=dict, compare=False)


def new_audit_id() -> str:
    """An opaque id that names a token in logs and revocations without revealing it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()


def _ts(moment: datetime) -> float:
    return round(moment.timestamp(), 6)


def _dt(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


class TokenCodec:
    """Seals and opens tokens with the shared key ring (newest key first)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("the token key ring is empty")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, data: TokenData) -> str:
        scope = data.scope
        payload = [
            FORMAT_VERSION,
            data.user_id,
            list(data.methods),
            scope.project_id,
            scope.domain_id,
            scope.system,
            _ts(data.issued_at),
            _ts(data.expires_at),
            list(data.audit_ids),
            data.app_cred_id,
        ]
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return self._fernet.encrypt(raw).decode().rstrip("=")

    def open(self, token: str) -> TokenData | None:
        """The token's content, or None when it is not one of ours (or was tampered with)."""
        padded = token + "=" * (-len(token) % 4)
        try:
            raw = self._fernet.decrypt(padded.encode())
            payload = json.loads(raw)
            version, user_id, methods, project_id, domain_id, system, iat, exp, audit, app = payload
        except (InvalidToken, ValueError, TypeError, UnicodeError):
            return None
        if version != FORMAT_VERSION:
            return None
        return TokenData(
            user_id=user_id,
            methods=tuple(methods),
            scope=Scope(project_id=project_id, domain_id=domain_id, system=bool(system)),
            issued_at=_dt(iat),
            expires_at=_dt(exp),
            audit_ids=tuple(audit),
            app_cred_id=app,
        )


async def load_codec(session: AsyncSession) -> TokenCodec:
    """The codec over the key ring stored in the database, creating the first key."""
    keys = (await session.scalars(select(FernetKey.key).order_by(FernetKey.id.desc()))).all()
    if not keys:
        key = Fernet.generate_key().decode()
        session.add(FernetKey(key=key))
        await session.flush()
        keys = [key]
    return TokenCodec(list(keys))
