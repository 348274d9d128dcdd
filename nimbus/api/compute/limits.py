"""GET /limits: the caller's project's absolute limits and what it uses (an admin may
ask for another project with ``tenant_id``). Rate limits are always empty, as
upstream's since Newton.

By microversion: 2.36 drops the nova-network limits (floating IPs, security groups),
2.39 drops maxImageMeta, 2.57 drops the personality limits.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute.common import at_least, authorize, caller, check_query, reading
from nimbus.compute import quotas

RULE = "os_compute_api:limits"

#: Quota resource → the names its limit is shown under.
LIMIT_NAMES = {
    "ram": ("maxTotalRAMSize",),
    "instances": ("maxTotalInstances",),
    "cores": ("maxTotalCores",),
    "key_pairs": ("maxTotalKeypairs",),
    "floating_ips": ("maxTotalFloatingIps",),
    "metadata_items": ("maxServerMeta", "maxImageMeta"),
    "injected_files": ("maxPersonality",),
    "injected_file_content_bytes": ("maxPersonalitySize",),
    "security_groups": ("maxSecurityGroups",),
    "security_group_rules": ("maxSecurityGroupRules",),
    "server_groups": ("maxServerGroups",),
    "server_group_members": ("maxServerGroupMembers",),
}
#: Usage name → quota resource.
USED_NAMES = {
    "totalRAMUsed": "ram",
    "totalCoresUsed": "cores",
    "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips",
    "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups",
}
NETWORK = ("floating_ips", "security_groups", "security_group_rules")
PERSONALITY = ("injected_files", "injected_file_content_bytes")


def _hidden(request: Request) -> set[str]:
    hidden: set[str] = set()
    if at_least(request, "2.36"):
        hidden.update(NETWORK)
    if at_least(request, "2.57"):
        hidden.update(PERSONALITY)
    return hidden


async def show_limits(request: Request) -> Response:
    authorize(request, RULE)
    check_query(request, ("tenant_id",), strict=at_least(request, "2.75"))
    project_id = caller(request).project_id or ""
    if "tenant_id" in request.query_params:
        project_id = request.query_params["tenant_id"]
        authorize(request, f"{RULE}:other_project", project_id=project_id)
    async with reading(request) as session:
        values = (await quotas.limits(session, project_id)).project
        used = await quotas.in_use(session, project_id)
    hidden = _hidden(request)
    absolute = {
        name: values[resource]
        for resource, names in LIMIT_NAMES.items()
        if resource not in hidden
        for name in names
        if not (name == "maxImageMeta" and at_least(request, "2.39"))
    }
    absolute.update(
        {name: used[resource] for name, resource in USED_NAMES.items() if resource not in hidden}
    )
    return json_response({"limits": {"rate": [], "absolute": absolute}})
