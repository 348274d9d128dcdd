"""Password hashing: bcrypt, deliberately slow, always off the event loop."""

from __future__ import annotations

import asyncio

import bcrypt

#: Keystone's default cost; ≈ 0.2 s a hash on these machines. Never lowered for speed
#: in a cloud; only test suites set a lower cost (as Keystone's own tests do).
DEFAULT_ROUNDS = 12
MIN_ROUNDS = 4
_rounds = DEFAULT_ROUNDS
#: bcrypt reads at most 72 bytes; longer passwords are refused rather than truncated.
MAX_BYTES = 72


def set_rounds(rounds: int) -> None:
    """Set the cost of new hashes for this process (existing hashes keep theirs)."""
    global _rounds
    if not MIN_ROUNDS <= rounds <= 31:
        raise ValueError(f"bcrypt cost must be between {MIN_ROUNDS} and 31")
    _rounds = rounds


def _hash(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def _verify(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hash, password, _rounds)


async def verify_password(password: str, hashed: str | None) -> bool:
    """True when `password` matches; a user without a password never matches."""
    if not hashed or len(password.encode()) > MAX_BYTES:
        return False
    return await asyncio.to_thread(_verify, password, hashed)
