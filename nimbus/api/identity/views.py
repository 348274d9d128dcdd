"""Identity resources rendered as Keystone's API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nimbus.db.models.identity import (
    GLOBAL_ROLE,
    Endpoint,
    Group,
    Project,
    Region,
    Role,
    Service,
    User,
)
from nimbus.identity.auth import ResolvedToken


def timestamp(moment: datetime | None) -> str | None:
    """Keystone's token timestamps: microseconds and a Z."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _links(base: str, collection: str, ident: str) -> dict[str, str]:
    return {"self": f"{base}/v3/{collection}/{ident}"}


def collection(base: str, path: str, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: items, "links": {"self": f"{base}{path}", "previous": None, "next": None}}


def project(base: str, row: Project, tags: list[str]) -> dict[str, Any]:
    return {
        "options": {},
        **row.extra,
        "id": row.id,
        "name": row.name,
        "domain_id": row.domain_id,
        "description": row.description,
        "enabled": row.enabled,
        "parent_id": row.parent_id,
        "is_domain": False,
        "tags": tags,
        "links": _links(base, "projects", row.id),
    }


def domain(base: str, row: Project, tags: list[str]) -> dict[str, Any]:
    return {
        "options": {},
        **row.extra,
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "enabled": row.enabled,
        "tags": tags,
        "links": _links(base, "domains", row.id),
    }


def user(base: str, row: User) -> dict[str, Any]:
    body = {
        **row.extra,
        "id": row.id,
        "name": row.name,
        "domain_id": row.domain_id,
        "enabled": row.enabled,
        "password_expires_at": timestamp(row.password_expires_at),
        "options": row.options,
        "links": _links(base, "users", row.id),
    }
    if row.default_project_id:
        body["default_project_id"] = row.default_project_id
    return body


def group(base: str, row: Group) -> dict[str, Any]:
    return {
        **row.extra,
        "id": row.id,
        "name": row.name,
        "domain_id": row.domain_id,
        "description": row.description,
        "links": _links(base, "groups", row.id),
    }


def role(base: str, row: Role) -> dict[str, Any]:
    return {
        **row.extra,
        "id": row.id,
        "name": row.name,
        "domain_id": None if row.domain_id == GLOBAL_ROLE else row.domain_id,
        "description": row.description,
        "options": row.options,
        "links": _links(base, "roles", row.id),
    }


def region(base: str, row: Region) -> dict[str, Any]:
    return {
        **row.extra,
        "id": row.id,
        "description": row.description,
        "parent_region_id": row.parent_region_id,
        "links": _links(base, "regions", row.id),
    }


def service(base: str, row: Service) -> dict[str, Any]:
    return {
        **row.extra,
        "id": row.id,
        "type": row.type,
        "enabled": row.enabled,
        "links": _links(base, "services", row.id),
    }


def endpoint(base: str, row: Endpoint) -> dict[str, Any]:
    return {
        **row.extra,
        "id": row.id,
        "service_id": row.service_id,
        "interface": row.interface,
        "url": row.url,
        "region_id": row.region_id,
        "region": row.region_id,
        "enabled": row.enabled,
        "links": _links(base, "endpoints", row.id),
    }


def _named(row: Project) -> dict[str, str]:
    return {"id": row.id, "name": row.name}


def token(resolved: ResolvedToken, catalog: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The body of a token as POST/GET /v3/auth/tokens return it."""
    data = resolved.data
    body: dict[str, Any] = {
        "methods": list(data.methods),
        "user": {
            "id": resolved.user.id,
            "name": resolved.user.name,
            "domain": _named(resolved.user_domain),
            "password_expires_at": timestamp(resolved.user.password_expires_at),
        },
        "audit_ids": list(data.audit_ids),
        "expires_at": timestamp(data.expires_at),
        "issued_at": timestamp(data.issued_at),
    }
    if resolved.project is not None and resolved.project_domain is not None:
        body["project"] = {**_named(resolved.project), "domain": _named(resolved.project_domain)}
        body["is_domain"] = False
    elif resolved.domain is not None:
        body["domain"] = _named(resolved.domain)
    elif data.scope.system:
        body["system"] = {"all": True}
    if resolved.roles:
        body["roles"] = [{"id": r.id, "name": r.name} for r in resolved.roles]
    if data.app_cred_id:
        body["application_credential"] = {"id": data.app_cred_id, "restricted": True}
    if catalog is not None and data.scope.kind != "unscoped":
        body["catalog"] = catalog
    return {"token": body}
