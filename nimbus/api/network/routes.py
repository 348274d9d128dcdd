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
    (f"{V2}/networks", {"GET": networks.NETWORK.index, "POST": networks.create_network}),
    (
        f"{V2}/networks/{{id}}",
        {
            "GET": networks.NETWORK.show,
            "PUT": networks.update_network,
            "DELETE": networks.NETWORK.delete,
        },
    ),
    (f"{V2}/subnets", {"GET": subnets.SUBNET.index, "POST": subnets.create_subnet}),
    (
        f"{V2}/subnets/{{id}}",
        {
            "GET": subnets.SUBNET.show,
            "PUT": subnets.update_subnet,
            "DELETE": subnets.SUBNET.delete,
        },
    ),
    (f"{V2}/subnetpools", {"GET": subnetpools.SUBNETPOOL.index, "POST": subnetpools.create_pool}),
    (
        f"{V2}/subnetpools/{{id}}",
        {
            "GET": subnetpools.SUBNETPOOL.show,
            "PUT": subnetpools.update_pool,
            "DELETE": subnetpools.SUBNETPOOL.delete,
        },
    ),
    (f"{V2}/ports", {"GET": ports.PORT.index, "POST": ports.create_port}),
    (
        f"{V2}/ports/{{id}}",
        {"GET": ports.PORT.show, "PUT": ports.update_port, "DELETE": ports.PORT.delete},
    ),
    (f"{V2}/routers", {"GET": routers.ROUTER.index, "POST": routers.create_router}),
    (
        f"{V2}/routers/{{id}}",
        {
            "GET": routers.ROUTER.show,
            "PUT": routers.update_router,
            "DELETE": routers.ROUTER.delete,
        },
    ),
    (f"{V2}/routers/{{id}}/add_router_interface", {"PUT": routers.add_interface}),
    (f"{V2}/routers/{{id}}/remove_router_interface", {"PUT": routers.remove_interface}),
    (
        f"{V2}/floatingips",
        {"GET": floatingips.FLOATINGIP.index, "POST": floatingips.create_floatingip},
    ),
    (
        f"{V2}/floatingips/{{id}}",
        {
            "GET": floatingips.FLOATINGIP.show,
            "PUT": floatingips.update_floatingip,
            "DELETE": floatingips.FLOATINGIP.delete,
        },
    ),
    (
        f"{V2}/security-groups",
        {"GET": security_groups.list_groups, "POST": security_groups.create_group},
    ),
    (
        f"{V2}/security-groups/{{id}}",
        {
            "GET": security_groups.GROUP.show,
            "PUT": security_groups.update_group,
            "DELETE": security_groups.GROUP.delete,
        },
    ),
    (
        f"{V2}/security-group-rules",
        {"GET": security_groups.RULE.index, "POST": security_groups.create_rule},
    ),
    (
        f"{V2}/security-group-rules/{{id}}",
        {"GET": security_groups.RULE.show, "DELETE": security_groups.RULE.delete},
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
