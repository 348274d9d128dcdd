"""Who is asking: the request context every service's domain logic receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    """The caller as its validated token describes it.

    Built once per request by the auth middleware; domain logic reads the project and
    user from here instead of from anything the client sent in the body.
    """

    request_id: str
    user_id: str = ""
    user_name: str = ""
    user_domain_id: str = ""
    user_domain_name: str = ""
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    project_domain_name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None
    system_scope: str | None = None
    roles: tuple[str, ...] = ()
    role_ids: tuple[str, ...] = ()
    audit_ids: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    token: str = field(default="", repr=False)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def credentials(self) -> dict[str, Any]:
        """The credential side of a policy check, named as oslo.policy rules expect."""
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": list(self.roles),
            "is_admin": False,
            "service_roles": [r for r in self.roles if r == "service"],
        }
