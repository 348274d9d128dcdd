"""Nova's default policy rules (nova/policies/, as of Nova 34), so that operators'
policy.yaml files mean the same here.

Nova's personas: ``context_is_admin`` (the admin role, cloud-wide), and a project's
member or reader (``project_member_api``/``project_reader_api`` compare the caller's
project with ``%(project_id)s``, the owner of the resource, which handlers put at the
top of the target; see nimbus.api.compute.common.authorize). Roles imply each other
(admin → member → reader) through Keystone's implied roles, as upstream relies on.

Deviation: upstream's legacy ``admin_api`` and ``admin_or_owner`` rules test
``is_admin:True``, a flag oslo.context derives from ``context_is_admin``; our
credentials carry no such flag, so both read ``rule:context_is_admin`` directly.

Every rule is for project-scoped tokens only (upstream's scope_types); hand SCOPE_TYPES
to the enforcer with DEFAULTS. The servers family (servers*.py) adds its rules to
RULES below, one dict per resource family.
"""

from __future__ import annotations

ADMIN = "rule:context_is_admin"
ANY = "@"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
PROJECT_MANAGER_OR_ADMIN = "rule:project_manager_or_admin"
OWNER_USER_OR_ADMIN = f"({ADMIN}) or user_id:%(user_id)s"

BASE = {
    "context_is_admin": "role:admin",
    "admin_or_owner": "rule:context_is_admin or project_id:%(project_id)s",
    "admin_api": "rule:context_is_admin",
    "project_manager_api": "role:manager and project_id:%(project_id)s",
    "project_member_api": "role:member and project_id:%(project_id)s",
    "project_reader_api": "role:reader and project_id:%(project_id)s",
    "project_manager_or_admin": "rule:project_manager_api or rule:context_is_admin",
    "project_member_or_admin": "rule:project_member_api or rule:context_is_admin",
    "project_reader_or_admin": "rule:project_reader_api or rule:context_is_admin",
}


def _family(root: str, rules: dict[str, str]) -> dict[str, str]:
    """``{"create": ADMIN}`` under ``os_compute_api:os-flavor-manage`` → full names."""
    return {f"{root}:{op}" if op else root: check for op, check in rules.items()}


FLAVORS = {
    **_family(
        "os_compute_api:os-flavor-manage",
        {"create": ADMIN, "update": ADMIN, "delete": ADMIN},
    ),
    **_family(
        "os_compute_api:os-flavor-access",
        {"": ADMIN, "add_tenant_access": ADMIN, "remove_tenant_access": ADMIN},
    ),
    **_family(
        "os_compute_api:os-flavor-extra-specs",
        {
            "index": PROJECT_READER_OR_ADMIN,
            "show": PROJECT_READER_OR_ADMIN,
            "create": ADMIN,
            "update": ADMIN,
            "delete": ADMIN,
        },
    ),
}

KEYPAIRS = _family(
    "os_compute_api:os-keypairs",
    {op: OWNER_USER_OR_ADMIN for op in ("index", "create", "show", "delete")},
)

SERVER_GROUPS = _family(
    "os_compute_api:os-server-groups",
    {
        "create": PROJECT_MEMBER_OR_ADMIN,
        "delete": PROJECT_MEMBER_OR_ADMIN,
        "index": PROJECT_READER_OR_ADMIN,
        "index:all_projects": ADMIN,
        "show": PROJECT_READER_OR_ADMIN,
    },
)

AVAILABILITY_ZONES = _family("os_compute_api:os-availability-zone", {"list": ANY, "detail": ADMIN})

AGGREGATES = _family(
    "os_compute_api:os-aggregates",
    {
        op: ADMIN
        for op in (
            "index",
            "create",
            "show",
            "update",
            "delete",
            "add_host",
            "remove_host",
            "set_metadata",
            "images",
        )
    },
)

#: Image pre-caching (2.81) has a rule of its own, named in upstream's newer style.
AGGREGATE_IMAGES = {"compute:aggregates:images": ADMIN}

HYPERVISORS = _family(
    "os_compute_api:os-hypervisors",
    {
        op: ADMIN
        for op in ("list", "list-detail", "show", "statistics", "uptime", "search", "servers")
    },
)

HOSTS = _family(
    "os_compute_api:os-hosts",
    {op: ADMIN for op in ("list", "show", "update", "reboot", "shutdown", "start")},
)

INSTANCE_USAGE_AUDIT_LOG = _family(
    "os_compute_api:os-instance-usage-audit-log", {"list": ADMIN, "show": ADMIN}
)

SIMPLE_TENANT_USAGE = _family(
    "os_compute_api:os-simple-tenant-usage", {"list": ADMIN, "show": PROJECT_READER_OR_ADMIN}
)

SERVICES = _family("os_compute_api:os-services", {"list": ADMIN, "update": ADMIN, "delete": ADMIN})

LIMITS = _family("os_compute_api:limits", {"": ANY, "other_project": ADMIN})

QUOTAS = {
    **_family(
        "os_compute_api:os-quota-sets",
        {
            "show": PROJECT_READER_OR_ADMIN,
            "detail": PROJECT_READER_OR_ADMIN,
            "defaults": ANY,
            "update": ADMIN,
            "delete": ADMIN,
        },
    ),
    **_family("os_compute_api:os-quota-class-sets", {"show": ADMIN, "update": ADMIN}),
}

#: The servers family (nova/policies/servers.py and its satellites).
SERVERS = {
    **_family(
        "os_compute_api:servers",
        {
            "index": PROJECT_READER_OR_ADMIN,
            "detail": PROJECT_READER_OR_ADMIN,
            "index:get_all_tenants": ADMIN,
            "detail:get_all_tenants": ADMIN,
            "allow_all_filters": ADMIN,
            "show": PROJECT_READER_OR_ADMIN,
            "show:flavor-extra-specs": PROJECT_READER_OR_ADMIN,
            "show:host_status": ADMIN,
            "show:host_status:unknown-only": ADMIN,
            "create": PROJECT_MEMBER_OR_ADMIN,
            "create:forced_host": ADMIN,
            "create:requested_destination": ADMIN,
            "create:attach_volume": PROJECT_MEMBER_OR_ADMIN,
            "create:attach_network": PROJECT_MEMBER_OR_ADMIN,
            "create:trusted_certs": PROJECT_MEMBER_OR_ADMIN,
            "create:zero_disk_flavor": ADMIN,
            "delete": PROJECT_MEMBER_OR_ADMIN,
            "update": PROJECT_MEMBER_OR_ADMIN,
            "confirm_resize": PROJECT_MEMBER_OR_ADMIN,
            "revert_resize": PROJECT_MEMBER_OR_ADMIN,
            "reboot": PROJECT_MEMBER_OR_ADMIN,
            "resize": PROJECT_MEMBER_OR_ADMIN,
            "rebuild": PROJECT_MEMBER_OR_ADMIN,
            "rebuild:trusted_certs": PROJECT_MEMBER_OR_ADMIN,
            "create_image": PROJECT_MEMBER_OR_ADMIN,
            "create_image:allow_volume_backed": PROJECT_MEMBER_OR_ADMIN,
            "start": PROJECT_MEMBER_OR_ADMIN,
            "stop": PROJECT_MEMBER_OR_ADMIN,
        },
    ),
    "os_compute_api:os-extended-server-attributes": ADMIN,
    **_family(
        "os_compute_api:os-pause-server",
        {"pause": PROJECT_MEMBER_OR_ADMIN, "unpause": PROJECT_MEMBER_OR_ADMIN},
    ),
    **_family(
        "os_compute_api:os-suspend-server",
        {"suspend": PROJECT_MEMBER_OR_ADMIN, "resume": PROJECT_MEMBER_OR_ADMIN},
    ),
    **_family(
        "os_compute_api:os-lock-server",
        {
            "lock": PROJECT_MEMBER_OR_ADMIN,
            "unlock": PROJECT_MEMBER_OR_ADMIN,
            "unlock:unlock_override": ADMIN,
        },
    ),
    "os_compute_api:os-console-output": PROJECT_MEMBER_OR_ADMIN,
    "os_compute_api:os-admin-actions:reset_state": ADMIN,
    "os_compute_api:os-admin-actions:inject_network_info": ADMIN,
    **_family(
        "os_compute_api:os-server-password",
        {"show": PROJECT_READER_OR_ADMIN, "clear": PROJECT_MEMBER_OR_ADMIN},
    ),
    **_family(
        "os_compute_api:ips", {"index": PROJECT_READER_OR_ADMIN, "show": PROJECT_READER_OR_ADMIN}
    ),
    **_family(
        "os_compute_api:os-attach-interfaces",
        {
            "list": PROJECT_READER_OR_ADMIN,
            "show": PROJECT_READER_OR_ADMIN,
            "create": PROJECT_MEMBER_OR_ADMIN,
            "delete": PROJECT_MEMBER_OR_ADMIN,
        },
    ),
    "os_compute_api:os-server-external-events:create": "role:service",
    "os_compute_api:os-server-diagnostics": ADMIN,
    **_family(
        "os_compute_api:server-metadata",
        {
            "index": PROJECT_READER_OR_ADMIN,
            "show": PROJECT_READER_OR_ADMIN,
            "create": PROJECT_MEMBER_OR_ADMIN,
            "update_all": PROJECT_MEMBER_OR_ADMIN,
            "update": PROJECT_MEMBER_OR_ADMIN,
            "delete": PROJECT_MEMBER_OR_ADMIN,
        },
    ),
    **_family(
        "os_compute_api:os-server-tags",
        {
            "index": PROJECT_READER_OR_ADMIN,
            "show": PROJECT_READER_OR_ADMIN,
            "update": PROJECT_MEMBER_OR_ADMIN,
            "update_all": PROJECT_MEMBER_OR_ADMIN,
            "delete": PROJECT_MEMBER_OR_ADMIN,
            "delete_all": PROJECT_MEMBER_OR_ADMIN,
        },
    ),
    **_family(
        "os_compute_api:os-instance-actions",
        {
            "list": PROJECT_READER_OR_ADMIN,
            "show": PROJECT_READER_OR_ADMIN,
            "events": ADMIN,
            "events:details": ADMIN,
        },
    ),
}

#: Moves, shelving, rescue and backups (nova/policies/{migrations,shelve,rescue,...}.py).
MOVES = {
    **_family(
        "os_compute_api:os-migrations",
        {"index": PROJECT_MANAGER_OR_ADMIN, "index:all_projects": ADMIN, "index:host": ADMIN},
    ),
    **_family(
        "os_compute_api:os-shelve",
        {
            "shelve": PROJECT_MEMBER_OR_ADMIN,
            "unshelve": PROJECT_MEMBER_OR_ADMIN,
            "unshelve_to_host": ADMIN,
            "shelve_offload": ADMIN,
        },
    ),
    "os_compute_api:os-rescue": PROJECT_MEMBER_OR_ADMIN,
    "os_compute_api:os-unrescue": PROJECT_MEMBER_OR_ADMIN,
    "os_compute_api:os-create-backup": PROJECT_MEMBER_OR_ADMIN,
    **_family(
        "os_compute_api:os-migrate-server",
        {"migrate": PROJECT_MANAGER_OR_ADMIN, "migrate:host": ADMIN},
    ),
    "os_compute_api:os-evacuate": ADMIN,
    "os_compute_api:os-deferred-delete:restore": PROJECT_MEMBER_OR_ADMIN,
    "os_compute_api:os-deferred-delete:force": PROJECT_MEMBER_OR_ADMIN,
}

#: Nova's network proxies (nova/policies/{security_groups,floating_ips,
#: floating_ip_pools,networks,tenant_networks}.py).
NETWORK_PROXIES = {
    **_family(
        "os_compute_api:os-security-groups",
        {
            "get": PROJECT_READER_OR_ADMIN,
            "show": PROJECT_READER_OR_ADMIN,
            "create": PROJECT_MEMBER_OR_ADMIN,
            "update": PROJECT_MEMBER_OR_ADMIN,
            "delete": PROJECT_MEMBER_OR_ADMIN,
            "rule:create": PROJECT_MEMBER_OR_ADMIN,
            "rule:delete": PROJECT_MEMBER_OR_ADMIN,
            "list": PROJECT_READER_OR_ADMIN,
            "add": PROJECT_MEMBER_OR_ADMIN,
            "remove": PROJECT_MEMBER_OR_ADMIN,
        },
    ),
    **_family(
        "os_compute_api:os-floating-ips",
        {
            "add": PROJECT_MEMBER_OR_ADMIN,
            "remove": PROJECT_MEMBER_OR_ADMIN,
            "list": PROJECT_READER_OR_ADMIN,
            "create": PROJECT_MEMBER_OR_ADMIN,
            "show": PROJECT_READER_OR_ADMIN,
            "delete": PROJECT_MEMBER_OR_ADMIN,
        },
    ),
    "os_compute_api:os-floating-ip-pools": ANY,
    **_family(
        "os_compute_api:os-networks",
        {"list": PROJECT_READER_OR_ADMIN, "show": PROJECT_READER_OR_ADMIN},
    ),
    **_family(
        "os_compute_api:os-tenant-networks",
        {"list": PROJECT_READER_OR_ADMIN, "show": PROJECT_READER_OR_ADMIN},
    ),
}

RULES: dict[str, str] = {
    **NETWORK_PROXIES,
    **SERVERS,
    **MOVES,
    **FLAVORS,
    **KEYPAIRS,
    **SERVER_GROUPS,
    **AVAILABILITY_ZONES,
    **AGGREGATES,
    **AGGREGATE_IMAGES,
    **HYPERVISORS,
    **HOSTS,
    **INSTANCE_USAGE_AUDIT_LOG,
    **SIMPLE_TENANT_USAGE,
    **SERVICES,
    **LIMITS,
    **QUOTAS,
}

DEFAULTS = {**BASE, **RULES}
#: Every operation rule is for project-scoped tokens only, as upstream declares.
SCOPE_TYPES = {name: ("project",) for name in RULES}
