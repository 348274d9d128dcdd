"""2.102: every compute API refuses query parameters it does not know, with a 400
(upstream gives each API a query schema with ``additionalProperties: false``).

The routes table is wrapped once (`strict_queries`): a handler accepts the parameters
KNOWN names for its path and method, none otherwise. Routes retired before 2.102
(`common.until`) are left alone: they answer 404 there. Before 2.102 nothing changes
here; the APIs that were strict earlier (2.75, 2.59...) check for themselves.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.microversion import Handler, Version, version_of
from nimbus.api.compute.common import API_ROOT
from nimbus.errors import BadRequest

SINCE = Version(2, 102)

#: GET /servers and /servers/detail: upstream's index_query_v275 properties (filters an
#: API does not act on are still known: non-admins' are ignored, as upstream does).
SERVER_LIST = (
    *("user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image"),
    *("kernel_id", "ramdisk_id", "hostname", "key_name", "power_state", "vm_state"),
    *("task_state", "host", "node", "flavor", "reservation_id", "launched_at"),
    *("terminated_at", "availability_zone", "name", "display_name", "description"),
    *("display_description", "locked_by", "uuid", "root_device_name", "config_drive"),
    *("access_ip_v4", "access_ip_v6", "auto_disk_config", "progress", "sort_key"),
    *("sort_dir", "all_tenants", "soft_deleted", "deleted", "status", "changes-since"),
    *("ip", "ip6", "created_at", "block_device_mapping", "services", "metadata"),
    *("system_metadata", "info_cache", "security_groups", "pci_devices", "architecture"),
    *("default_swap_device", "ephemeral_gb", "locked", "shutdown_terminate", "limit"),
    *("marker", "tags", "tags-any", "not-tags", "not-tags-any", "changes-before"),
)
_FLAVORS = ("limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir", "name")
_HYPERVISORS = ("limit", "marker", "hypervisor_hostname_pattern", "with_servers")
_USAGE = ("start", "end", "detailed", "limit", "marker")
_MIGRATIONS = (
    *("hidden", "host", "instance_uuid", "source_compute", "status", "migration_type"),
    *("limit", "marker", "changes-since", "changes-before", "user_id", "project_id"),
)

#: (path, method) → the query parameters that API takes at 2.102.
KNOWN: dict[tuple[str, str], tuple[str, ...]] = {
    (f"{API_ROOT}/servers", "GET"): SERVER_LIST,
    (f"{API_ROOT}/servers/detail", "GET"): SERVER_LIST,
    (f"{API_ROOT}/servers/{{server_id}}/os-instance-actions", "GET"): (
        *("limit", "marker", "changes-since", "changes-before"),
    ),
    (f"{API_ROOT}/flavors", "GET"): _FLAVORS,
    (f"{API_ROOT}/flavors/detail", "GET"): _FLAVORS,
    (f"{API_ROOT}/os-keypairs", "GET"): ("user_id", "limit", "marker"),
    (f"{API_ROOT}/os-keypairs/{{name}}", "GET"): ("user_id",),
    (f"{API_ROOT}/os-keypairs/{{name}}", "DELETE"): ("user_id",),
    (f"{API_ROOT}/os-server-groups", "GET"): ("all_projects", "limit", "offset"),
    (f"{API_ROOT}/os-services", "GET"): ("host", "binary"),
    (f"{API_ROOT}/os-hypervisors", "GET"): _HYPERVISORS,
    (f"{API_ROOT}/os-hypervisors/detail", "GET"): _HYPERVISORS,
    (f"{API_ROOT}/os-hypervisors/{{id}}", "GET"): ("with_servers",),
    (f"{API_ROOT}/os-migrations", "GET"): _MIGRATIONS,
    (f"{API_ROOT}/os-simple-tenant-usage", "GET"): _USAGE,
    (f"{API_ROOT}/os-simple-tenant-usage/{{project_id}}", "GET"): _USAGE,
    (f"{API_ROOT}/limits", "GET"): ("tenant_id",),
    (f"{API_ROOT}/os-quota-sets/{{project_id}}", "GET"): ("user_id",),
    (f"{API_ROOT}/os-quota-sets/{{project_id}}", "PUT"): ("user_id", "force"),
    (f"{API_ROOT}/os-quota-sets/{{project_id}}", "DELETE"): ("user_id",),
    (f"{API_ROOT}/os-quota-sets/{{project_id}}/detail", "GET"): ("user_id",),
}


def _strict(handler: Handler, known: frozenset[str]) -> Handler:
    async def checked(request: Request) -> Response:
        if version_of(request) >= SINCE:
            for name in request.query_params:
                if name not in known:
                    raise BadRequest(
                        f"Additional properties are not allowed ('{name}' was unexpected)"
                    )
        return await handler(request)

    for flag in ("public", "versioned"):
        if hasattr(handler, flag):
            setattr(checked, flag, getattr(handler, flag))
    return checked


def strict_queries(
    routes: list[tuple[str, dict[str, Handler]]],
) -> list[tuple[str, dict[str, Handler]]]:
    """The routes table with every handler live at 2.102 checking its query."""
    return [
        (
            path,
            {
                method: handler
                if getattr(handler, "retired", False)
                else _strict(handler, frozenset(KNOWN.get((path, method), ())))
                for method, handler in methods.items()
            },
        )
        for path, methods in routes
    ]
