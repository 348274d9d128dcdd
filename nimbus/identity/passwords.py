"""Password hashing: bcrypt, deliberately slow, always off the event loop."""

from __future__ import annotations

import asyncio

import bcrypt

#: Keystone's default cost; ≈ 0.2 s a hash on these machines. Never lowered for speed.
ROUNDS = 12
#: bcrypt reads at most 72 bytes; longer passwords are refused rather than truncated.
MAX_BYTES = 72


def _hash(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def _verify(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


async def hash_password(password: str, rounds: int = ROUNDS) -> str:
    return await asyncio.to_thread(_hash, password, rounds)


async def verify_password(password: str, hashed: str | None) -> bool:
    """True when `password` matches; a user without a password never matches."""
    if not hashed or len(password.encode()) > MAX_BYTES:
        return False
    return await asyncio.to_thread(_verify, password, hashed)
