"""Identity resources rendered as Keystone's API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nimbus.db.models.identity import (
    GLOBAL_ROLE,
    ApplicationCredential,
    Endpoint,
    Group,
    Project,
    Region,
    Role,
    Service,
    User,
)
from nimbus.identity.auth import ResolvedToken
from nimbus.identity.role_assignments import Entry, Names


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
        "domain_id": None if row.is_domain else row.domain_id,
        "description": row.description,
        "enabled": row.enabled,
        "parent_id": row.parent_id,
        "is_domain": row.is_domain,
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


def tags(url: str, names: list[str]) -> dict[str, Any]:
    return {"tags": names, "links": {"self": url}}


def role_ref(base: str, row: Role) -> dict[str, Any]:
    """A role as role inferences show it: id, name and link only."""
    return {"id": row.id, "name": row.name, "links": _links(base, "roles", row.id)}


def role_inference(
    base: str, prior: Role, implies: Role | list[Role], path: str | None = None
) -> dict[str, Any]:
    """One prior role with the role (or list of roles) it implies."""
    implied = (
        [role_ref(base, r) for r in implies]
        if isinstance(implies, list)
        else role_ref(base, implies)
    )
    body: dict[str, Any] = {"prior_role": role_ref(base, prior), "implies": implied}
    if path is None:
        return body
    return {"role_inference": body, "links": {"self": f"{base}{path}"}}


def application_credential(
    base: str, row: ApplicationCredential, secret: str | None = None
) -> dict[str, Any]:
    """An application credential; the secret only in the answer to its creation."""
    body: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "expires_at": None
        if row.expires_at is None
        else row.expires_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "project_id": row.project_id,
        "roles": row.roles,
        "unrestricted": row.unrestricted,
        "access_rules": [],
        "links": {"self": f"{base}/v3/users/{row.user_id}/application_credentials/{row.id}"},
    }
    if secret is not None:
        body["secret"] = secret
    return body


def _entity(ident: str, names: dict[str, dict[str, Any]] | None, owned: bool) -> dict[str, Any]:
    """`{"id"}`, or with include_names its name (and domain); a vanished row shows blanks."""
    if names is None:
        return {"id": ident}
    blank: dict[str, Any] = {"id": ident, "name": ""}
    if owned:
        blank["domain"] = {"id": "", "name": ""}
    return names.get(ident, blank)


def role_assignment(base: str, entry: Entry, names: Names | None) -> dict[str, Any]:
    """One entry of GET /v3/role_assignments, with the link of the grant behind it.

    The link names the grant that produced the entry: the group's for an expanded group
    grant, the parent's or domain's for an inherited one, the prior role's for an
    implied role, all under /OS-INHERIT when inherited, as Keystone builds them.
    """
    body: dict[str, Any] = {"links": {}}
    if entry.target == "system":
        scope: dict[str, Any] = {"system": {"all": True}}
        link = "/system"
    else:
        kind, ident = entry.target, entry.target_id
        known = None if names is None else names.projects if kind == "project" else names.domains
        scope = {kind: _entity(ident, known, kind == "project")}
        if entry.inherited_from is not None:
            kind, ident = entry.inherited_from
        link = f"/{kind}s/{ident}"
    if entry.actor == "user":
        body["user"] = _entity(entry.actor_id, names.users if names else None, True)
        if entry.via_group:
            body["links"]["membership"] = (
                f"{base}/v3/groups/{entry.via_group}/users/{entry.actor_id}"
            )
            link += f"/groups/{entry.via_group}"
        else:
            link += f"/users/{entry.actor_id}"
    else:
        body["group"] = _entity(entry.actor_id, names.groups if names else None, True)
        link += f"/groups/{entry.actor_id}"
    body["role"] = _entity(entry.role_id, names.roles if names else None, False)
    link += f"/roles/{entry.prior_role_id or entry.role_id}"
    if entry.shows_inherited:
        scope["OS-INHERIT:inherited_to"] = "projects"
        link = f"/OS-INHERIT{link}/inherited_to_projects"
    body["scope"] = scope
    body["links"]["assignment"] = f"{base}/v3{link}"
    if entry.prior_role_id:
        # Upstream's (odd) shape for the implication behind an implied role.
        body["links"]["prior_role"] = (
            f"{base}/v3/prior_role/{entry.role_id}/implies/{entry.prior_role_id}"
        )
    return body
