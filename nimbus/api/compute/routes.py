"""The whole Compute (Nova v2.1) HTTP surface in one table, one row per path.

Unmarked handlers exist from 2.1; `since(v, handler)` answers 404 below v, and
`by_version` picks a handler by version where a method changed meaning. Every row is
under /v2.1 except version discovery; `app.LegacyProjectPrefix` also serves each one
under /v2.1/{project_id}/, the URL form of catalogs written before 2.18.

The servers family (servers, server actions, metadata, tags, instance actions, ...)
adds its rows to SERVERS below; the other resources' rows follow it. Keep one row per
path: a path's methods belong together.
"""

from __future__ import annotations

from nimbus.api.common.microversion import Handler, gated, since
from nimbus.api.compute import (
    aggregates,
    availability_zones,
    flavor_access,
    flavor_extra_specs,
    flavors,
    floating_ips,
    hosts,
    hypervisors,
    images,
    instance_actions,
    instance_usage_audit_log,
    interfaces,
    keypairs,
    limits,
    migrations,
    networks,
    quota_sets,
    security_groups,
    server_actions,
    server_diagnostics,
    server_external_events,
    server_groups,
    server_ips,
    server_metadata,
    server_password,
    servers,
    services,
    simple_tenant_usage,
    versions,
)
from nimbus.api.compute.common import API_ROOT, actions, until
from nimbus.api.compute.query import strict_queries

Routes = list[tuple[str, dict[str, Handler]]]

DISCOVERY: Routes = [
    ("/", {"GET": versions.list_versions}),
    (API_ROOT, {"GET": versions.show_version}),
    (f"{API_ROOT}/", {"GET": versions.show_version}),
    ("/v2", {"GET": versions.show_legacy_version}),
    ("/v2/", {"GET": versions.show_legacy_version}),
]

#: Servers and everything under /servers (the servers family's rows).
_SERVER = f"{API_ROOT}/servers/{{server_id}}"
SERVERS: Routes = [
    (f"{API_ROOT}/servers", {"GET": servers.list_servers, "POST": servers.create_server}),
    (f"{API_ROOT}/servers/detail", {"GET": servers.list_servers_detail}),
    (
        _SERVER,
        {
            "GET": servers.show_server,
            "PUT": servers.update_server,
            "DELETE": servers.delete_server,
        },
    ),
    (f"{_SERVER}/action", {"POST": server_actions.server_action}),
    (
        f"{_SERVER}/metadata",
        {
            "GET": server_metadata.list_metadata,
            "POST": server_metadata.update_metadata,
            "PUT": server_metadata.replace_metadata,
        },
    ),
    (
        f"{_SERVER}/metadata/{{key}}",
        {
            "GET": server_metadata.show_metadata_item,
            "PUT": server_metadata.set_metadata_item,
            "DELETE": server_metadata.delete_metadata_item,
        },
    ),
    (
        f"{_SERVER}/tags",
        {
            "GET": since("2.26", server_metadata.list_tags),
            "PUT": since("2.26", server_metadata.replace_tags),
            "DELETE": since("2.26", server_metadata.delete_tags),
        },
    ),
    (
        f"{_SERVER}/tags/{{tag}}",
        {
            "GET": since("2.26", server_metadata.check_tag),
            "PUT": since("2.26", server_metadata.add_tag),
            "DELETE": since("2.26", server_metadata.delete_tag),
        },
    ),
    (f"{_SERVER}/diagnostics", {"GET": server_diagnostics.show_diagnostics}),
    (f"{_SERVER}/ips", {"GET": server_ips.list_ips}),
    (
        f"{_SERVER}/os-interface",
        {"GET": interfaces.list_interfaces, "POST": interfaces.create_interface},
    ),
    (
        f"{_SERVER}/os-interface/{{port_id}}",
        {"GET": interfaces.show_interface, "DELETE": interfaces.delete_interface},
    ),
    (f"{_SERVER}/os-security-groups", {"GET": security_groups.list_server_groups}),
    (
        f"{_SERVER}/os-server-password",
        {"GET": server_password.show_password, "DELETE": server_password.clear_password},
    ),
    (f"{_SERVER}/ips/{{network}}", {"GET": server_ips.show_ips}),
    (f"{_SERVER}/os-instance-actions", {"GET": instance_actions.list_actions}),
    (
        f"{_SERVER}/os-instance-actions/{{request_id}}",
        {"GET": instance_actions.show_action},
    ),
]

#: Flavors, key pairs, server groups, zones, aggregates, services, hypervisors,
#: limits and quotas.
CATALOG: Routes = [
    (f"{API_ROOT}/flavors", {"GET": flavors.list_flavors, "POST": flavors.create_flavor}),
    (f"{API_ROOT}/flavors/detail", {"GET": flavors.list_flavors_detail}),
    (
        f"{API_ROOT}/flavors/{{flavor_id}}",
        {
            "GET": flavors.show_flavor,
            "PUT": since("2.55", flavors.update_flavor),
            "DELETE": flavors.delete_flavor,
        },
    ),
    (
        f"{API_ROOT}/flavors/{{flavor_id}}/action",
        {
            "POST": actions(
                {
                    "addTenantAccess": flavor_access.add_tenant_access,
                    "removeTenantAccess": flavor_access.remove_tenant_access,
                }
            )
        },
    ),
    (f"{API_ROOT}/flavors/{{flavor_id}}/os-flavor-access", {"GET": flavor_access.list_access}),
    (
        f"{API_ROOT}/flavors/{{flavor_id}}/os-extra_specs",
        {"GET": flavor_extra_specs.list_specs, "POST": flavor_extra_specs.create_specs},
    ),
    (
        f"{API_ROOT}/flavors/{{flavor_id}}/os-extra_specs/{{key}}",
        {
            "GET": flavor_extra_specs.show_spec,
            "PUT": flavor_extra_specs.update_spec,
            "DELETE": flavor_extra_specs.delete_spec,
        },
    ),
    (
        f"{API_ROOT}/os-keypairs",
        {"GET": keypairs.list_keypairs, "POST": keypairs.create_keypair},
    ),
    (
        f"{API_ROOT}/os-keypairs/{{name}}",
        {"GET": keypairs.show_keypair, "DELETE": keypairs.delete_keypair},
    ),
    (
        f"{API_ROOT}/os-server-groups",
        {"GET": server_groups.list_groups, "POST": server_groups.create_group},
    ),
    (
        f"{API_ROOT}/os-server-groups/{{id}}",
        {"GET": server_groups.show_group, "DELETE": server_groups.delete_group},
    ),
    (f"{API_ROOT}/os-availability-zone", {"GET": availability_zones.list_zones}),
    (f"{API_ROOT}/os-migrations", {"GET": migrations.list_migrations}),
    (f"{API_ROOT}/os-availability-zone/detail", {"GET": availability_zones.list_zones_detail}),
    (
        f"{API_ROOT}/os-aggregates",
        {"GET": aggregates.list_aggregates, "POST": aggregates.create_aggregate},
    ),
    (
        f"{API_ROOT}/os-aggregates/{{id}}",
        {
            "GET": aggregates.show_aggregate,
            "PUT": aggregates.update_aggregate,
            "DELETE": aggregates.delete_aggregate,
        },
    ),
    (
        f"{API_ROOT}/os-aggregates/{{id}}/action",
        {
            "POST": actions(
                {
                    "add_host": aggregates.add_host,
                    "remove_host": aggregates.remove_host,
                    "set_metadata": aggregates.set_metadata,
                }
            )
        },
    ),
    (f"{API_ROOT}/os-aggregates/{{id}}/images", {"POST": since("2.81", aggregates.cache_images)}),
    (f"{API_ROOT}/os-services", {"GET": services.list_services}),
    (
        f"{API_ROOT}/os-services/{{id}}",
        {"PUT": services.update_service, "DELETE": services.delete_service},
    ),
    (f"{API_ROOT}/os-hypervisors", {"GET": hypervisors.list_hypervisors}),
    (f"{API_ROOT}/os-hypervisors/detail", {"GET": hypervisors.list_hypervisors_detail}),
    (f"{API_ROOT}/os-hypervisors/statistics", {"GET": until("2.87", hypervisors.statistics)}),
    (f"{API_ROOT}/os-hypervisors/{{id}}", {"GET": hypervisors.show_hypervisor}),
    (
        f"{API_ROOT}/os-hypervisors/{{id}}/uptime",
        {"GET": until("2.87", hypervisors.hypervisor_uptime)},
    ),
    (
        f"{API_ROOT}/os-hypervisors/{{pattern}}/search",
        {"GET": until("2.52", hypervisors.search_hypervisors)},
    ),
    (
        f"{API_ROOT}/os-hypervisors/{{pattern}}/servers",
        {"GET": until("2.52", hypervisors.hypervisor_servers)},
    ),
    (f"{API_ROOT}/images", {"GET": until("2.35", images.list_images)}),
    (f"{API_ROOT}/images/detail", {"GET": until("2.35", images.list_images_detail)}),
    (
        f"{API_ROOT}/images/{{image_id}}",
        {"GET": until("2.35", images.show_image), "DELETE": until("2.35", images.delete_image)},
    ),
    (
        f"{API_ROOT}/images/{{image_id}}/metadata",
        {
            "GET": until("2.38", images.list_metadata),
            "POST": until("2.38", images.update_metadata),
            "PUT": until("2.38", images.replace_metadata),
        },
    ),
    (
        f"{API_ROOT}/images/{{image_id}}/metadata/{{key}}",
        {
            "GET": until("2.38", images.show_metadata_item),
            "PUT": until("2.38", images.set_metadata_item),
            "DELETE": until("2.38", images.delete_metadata_item),
        },
    ),
    (f"{API_ROOT}/os-server-external-events", {"POST": server_external_events.create_events}),
    (f"{API_ROOT}/os-hosts", {"GET": until("2.42", hosts.list_hosts)}),
    (
        f"{API_ROOT}/os-hosts/{{host}}",
        {"GET": until("2.42", hosts.show_host), "PUT": until("2.42", hosts.update_host)},
    ),
    (f"{API_ROOT}/os-hosts/{{host}}/startup", {"GET": until("2.42", hosts.startup_host)}),
    (f"{API_ROOT}/os-hosts/{{host}}/shutdown", {"GET": until("2.42", hosts.shutdown_host)}),
    (f"{API_ROOT}/os-hosts/{{host}}/reboot", {"GET": until("2.42", hosts.reboot_host)}),
    (f"{API_ROOT}/os-instance_usage_audit_log", {"GET": instance_usage_audit_log.list_audit_logs}),
    (
        f"{API_ROOT}/os-instance_usage_audit_log/{{before}}",
        {"GET": instance_usage_audit_log.show_audit_log},
    ),
    (f"{API_ROOT}/os-simple-tenant-usage", {"GET": simple_tenant_usage.list_usages}),
    (
        f"{API_ROOT}/os-simple-tenant-usage/{{project_id}}",
        {"GET": simple_tenant_usage.show_usage},
    ),
    (f"{API_ROOT}/limits", {"GET": limits.show_limits}),
    (
        f"{API_ROOT}/os-quota-sets/{{project_id}}",
        {
            "GET": quota_sets.show_quotas,
            "PUT": quota_sets.update_quotas,
            "DELETE": quota_sets.delete_quotas,
        },
    ),
    (f"{API_ROOT}/os-quota-sets/{{project_id}}/defaults", {"GET": quota_sets.show_defaults}),
    (f"{API_ROOT}/os-quota-sets/{{project_id}}/detail", {"GET": quota_sets.show_detail}),
    (
        f"{API_ROOT}/os-quota-class-sets/{{class_name}}",
        {"GET": quota_sets.show_class, "PUT": quota_sets.update_class},
    ),
]

#: Nova's network proxies over the network service, deprecated at 2.36 (404 from
#: then on); nova-network's writes are 410 at every version.
_GONE = networks.gone
NETWORK_PROXIES: Routes = [
    (
        f"{API_ROOT}/os-security-groups",
        {
            "GET": until("2.35", security_groups.list_groups),
            "POST": until("2.35", security_groups.create_group),
        },
    ),
    (
        f"{API_ROOT}/os-security-groups/{{id}}",
        {
            "GET": until("2.35", security_groups.show_group),
            "PUT": until("2.35", security_groups.update_group),
            "DELETE": until("2.35", security_groups.delete_group),
        },
    ),
    (f"{API_ROOT}/os-security-group-rules", {"POST": until("2.35", security_groups.create_rule)}),
    (
        f"{API_ROOT}/os-security-group-rules/{{id}}",
        {"DELETE": until("2.35", security_groups.delete_rule)},
    ),
    (
        f"{API_ROOT}/os-floating-ips",
        {
            "GET": until("2.35", floating_ips.list_floating_ips),
            "POST": until("2.35", floating_ips.allocate),
        },
    ),
    (
        f"{API_ROOT}/os-floating-ips/{{id}}",
        {
            "GET": until("2.35", floating_ips.show_floating_ip),
            "DELETE": until("2.35", floating_ips.release),
        },
    ),
    (f"{API_ROOT}/os-floating-ip-pools", {"GET": until("2.35", floating_ips.list_pools)}),
    (
        f"{API_ROOT}/os-networks",
        {"GET": until("2.35", networks.list_networks), "POST": _GONE},
    ),
    (f"{API_ROOT}/os-networks/add", {"POST": _GONE}),
    (
        f"{API_ROOT}/os-networks/{{id}}",
        {"GET": until("2.35", networks.show_network), "DELETE": _GONE},
    ),
    (f"{API_ROOT}/os-networks/{{id}}/action", {"POST": _GONE}),
    (
        f"{API_ROOT}/os-tenant-networks",
        {"GET": until("2.35", networks.list_tenant_networks), "POST": _GONE},
    ),
    (
        f"{API_ROOT}/os-tenant-networks/{{id}}",
        {"GET": until("2.35", networks.show_tenant_network), "DELETE": _GONE},
    ),
]

ROUTES = gated([*DISCOVERY, *strict_queries([*SERVERS, *CATALOG]), *NETWORK_PROXIES])

#: First path segments under /v2.1 that name a collection, not a project id.
TOP_SEGMENTS = frozenset(
    path[len(API_ROOT) + 1 :].split("/")[0] for path, _ in ROUTES if path.startswith(API_ROOT + "/")
) - {""}
