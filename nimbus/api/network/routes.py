"""The whole Network API v2.0 HTTP surface in one table."""

from __future__ import annotations

from nimbus.api.common.app import RouteTable
from nimbus.api.network import (
    floatingips,
    networks,
    ports,
    quotas,
    root,
    routers,
    security_groups,
    subnetpools,
    subnets,
    tags,
)

V2 = root.API_ROOT


def _tag_routes() -> RouteTable:
    """The tag sub-resources of every taggable collection."""
    found = []
    for collection in tags.GETTERS:
        base = f"{V2}/{collection}/{{id}}/tags"
        found.append(
            (base, {"GET": tags.list_tags, "PUT": tags.replace_tags, "DELETE": tags.delete_tags})
        )
        found.append(
            (
                f"{base}/{{tag}}",
                {"GET": tags.check_tag, "PUT": tags.add_tag, "DELETE": tags.delete_tag},
            )
        )
    return found


ROUTES: RouteTable = [
    ("/", {"GET": root.versions}),
    (f"{V2}", {"GET": root.resources}),
    (f"{V2}/", {"GET": root.resources}),
    (f"{V2}/extensions", {"GET": root.list_extensions}),
    (f"{V2}/extensions/{{alias}}", {"GET": root.show_extension}),
    (f"{V2}/availability_zones", {"GET": root.list_zones}),
    (f"{V2}/agents", {"GET": root.list_agents}),
    (f"{V2}/networks", {"GET": networks.list_networks, "POST": networks.create_network}),
    (
        f"{V2}/networks/{{id}}",
        {
            "GET": networks.show_network,
            "PUT": networks.update_network,
            "DELETE": networks.delete_network,
        },
    ),
    (f"{V2}/subnets", {"GET": subnets.list_subnets, "POST": subnets.create_subnet}),
    (
        f"{V2}/subnets/{{id}}",
        {
            "GET": subnets.show_subnet,
            "PUT": subnets.update_subnet,
            "DELETE": subnets.delete_subnet,
        },
    ),
    (f"{V2}/subnetpools", {"GET": subnetpools.list_pools, "POST": subnetpools.create_pool}),
    (
        f"{V2}/subnetpools/{{id}}",
        {
            "GET": subnetpools.show_pool,
            "PUT": subnetpools.update_pool,
            "DELETE": subnetpools.delete_pool,
        },
    ),
    (f"{V2}/ports", {"GET": ports.list_ports, "POST": ports.create_port}),
    (
        f"{V2}/ports/{{id}}",
        {"GET": ports.show_port, "PUT": ports.update_port, "DELETE": ports.delete_port},
    ),
    (f"{V2}/routers", {"GET": routers.list_routers, "POST": routers.create_router}),
    (
        f"{V2}/routers/{{id}}",
        {
            "GET": routers.show_router,
            "PUT": routers.update_router,
            "DELETE": routers.delete_router,
        },
    ),
    (f"{V2}/routers/{{id}}/add_router_interface", {"PUT": routers.add_interface}),
    (f"{V2}/routers/{{id}}/remove_router_interface", {"PUT": routers.remove_interface}),
    (
        f"{V2}/floatingips",
        {"GET": floatingips.list_floatingips, "POST": floatingips.create_floatingip},
    ),
    (
        f"{V2}/floatingips/{{id}}",
        {
            "GET": floatingips.show_floatingip,
            "PUT": floatingips.update_floatingip,
            "DELETE": floatingips.delete_floatingip,
        },
    ),
    (
        f"{V2}/security-groups",
        {"GET": security_groups.list_groups, "POST": security_groups.create_group},
    ),
    (
        f"{V2}/security-groups/{{id}}",
        {
            "GET": security_groups.show_group,
            "PUT": security_groups.update_group,
            "DELETE": security_groups.delete_group,
        },
    ),
    (
        f"{V2}/security-group-rules",
        {"GET": security_groups.list_rules, "POST": security_groups.create_rule},
    ),
    (
        f"{V2}/security-group-rules/{{id}}",
        {"GET": security_groups.show_rule, "DELETE": security_groups.delete_rule},
    ),
    (f"{V2}/quotas", {"GET": quotas.list_quotas}),
    (
        f"{V2}/quotas/{{project_id}}",
        {"GET": quotas.show_quota, "PUT": quotas.update_quota, "DELETE": quotas.delete_quota},
    ),
    (f"{V2}/quotas/{{project_id}}/default", {"GET": quotas.show_defaults}),
    (f"{V2}/quotas/{{project_id}}/details", {"GET": quotas.show_details}),
    *_tag_routes(),
]
