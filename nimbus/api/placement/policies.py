"""Placement's default policy rules, as upstream ships them (placement/policies/).

Placement is an admin and service-to-service API: nearly everything is
``role:admin or role:service``; a project reader may see its own project's usages;
only services may reshape. Upstream's current defaults accept project-scoped tokens
only (the rules' scope types), which is what ``openstack`` and nova send.

GET /usages puts the ``project_id`` being asked about at the top of the target, so
that ``project_reader_api`` can compare it with the caller's project.
"""

from __future__ import annotations

_ADMIN_OR_SERVICE = "rule:admin_or_service_api"

#: The generic rules the named ones refer to.
BASE = {
    "admin_api": "role:admin",
    "service_api": "role:service",
    "admin_or_service_api": "role:admin or role:service",
    "project_reader_api": "role:reader and project_id:%(project_id)s",
    "admin_or_project_reader_or_service_api": (
        "role:admin or rule:project_reader_api or role:service"
    ),
}

_CRUD = ("list", "create", "show", "update", "delete")

RULES = {
    **{f"placement:resource_providers:{op}": _ADMIN_OR_SERVICE for op in _CRUD},
    **{f"placement:resource_providers:inventories:{op}": _ADMIN_OR_SERVICE for op in _CRUD},
    **{f"placement:resource_classes:{op}": _ADMIN_OR_SERVICE for op in _CRUD},
    **{
        f"placement:resource_providers:aggregates:{op}": _ADMIN_OR_SERVICE
        for op in ("list", "update")
    },
    **{
        f"placement:resource_providers:traits:{op}": _ADMIN_OR_SERVICE
        for op in ("list", "update", "delete")
    },
    **{f"placement:traits:{op}": _ADMIN_OR_SERVICE for op in ("list", "show", "update", "delete")},
    **{
        f"placement:allocations:{op}": _ADMIN_OR_SERVICE
        for op in ("list", "manage", "update", "delete")
    },
    "placement:resource_providers:allocations:list": _ADMIN_OR_SERVICE,
    "placement:resource_providers:usages": _ADMIN_OR_SERVICE,
    "placement:usages": "rule:admin_or_project_reader_or_service_api",
    "placement:allocation_candidates:list": _ADMIN_OR_SERVICE,
    "placement:reshaper:reshape": "rule:service_api",
}

DEFAULTS = {**BASE, **RULES}
#: Every operation rule is for project-scoped tokens only, as upstream declares.
SCOPE_TYPES = {name: ("project",) for name in RULES}
