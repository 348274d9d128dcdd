"""Policy targets: the attributes of each identity row that Keystone's rules read.

Rules name them as ``target.user.domain_id``, ``target.role.domain_id`` and so on, with
shapes fixed by upstream (a global role's ``domain_id`` is present and None), so every
handler builds them here rather than by hand.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from nimbus.api.common.handler import caller
from nimbus.db.models.identity import GLOBAL_ROLE, Group, Project, Role, User


def user(row: User) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "domain_id": row.domain_id}


def group(row: Group) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "domain_id": row.domain_id}


def role(row: Role) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "domain_id": None if row.domain_id == GLOBAL_ROLE else row.domain_id,
    }


def project(row: Project) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "domain_id": row.domain_id}


def domain(row: Project) -> dict[str, Any]:
    return {"id": row.id, "name": row.name}


def caller_domain(request: Request) -> str | None:
    """The domain a domain-scoped caller is limited to (None for other scopes)."""
    return caller(request).domain_id
