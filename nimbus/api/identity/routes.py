"""The whole Identity v3 HTTP surface, one row per path."""

from __future__ import annotations

from nimbus.api.common.app import RouteTable
from nimbus.api.identity import (
    application_credentials,
    domains,
    endpoints,
    grants,
    groups,
    project_tags,
    projects,
    regions,
    role_assignments,
    roles,
    services,
    tokens,
    users,
    versions,
)

#: Every grant URL is served by the same handlers; see grants.py.
GRANT = {"GET": grants.check_grant, "PUT": grants.create_grant, "DELETE": grants.revoke_grant}
GRANTS = {"GET": grants.list_grants}
APP_CREDENTIAL = {
    "GET": application_credentials.show_application_credential,
    "DELETE": application_credentials.delete_application_credential,
}

ROUTES: RouteTable = [
    ("/", {"GET": versions.list_versions}),
    ("/v3", {"GET": versions.show_version}),
    ("/v3/", {"GET": versions.show_version}),
    # auth
    (
        "/v3/auth/tokens",
        {
            "POST": tokens.issue_token,
            "GET": tokens.validate_token,
            "HEAD": tokens.check_token,
            "DELETE": tokens.revoke_token,
        },
    ),
    ("/v3/auth/catalog", {"GET": tokens.auth_catalog}),
    ("/v3/auth/projects", {"GET": tokens.auth_projects}),
    ("/v3/auth/domains", {"GET": tokens.auth_domains}),
    ("/v3/auth/system", {"GET": tokens.auth_system}),
    # projects
    ("/v3/projects", {"GET": projects.list_projects, "POST": projects.create_project}),
    (
        "/v3/projects/{project_id}",
        {
            "GET": projects.show_project,
            "PATCH": projects.update_project,
            "DELETE": projects.delete_project,
        },
    ),
    # users
    ("/v3/users", {"GET": users.list_users, "POST": users.create_user}),
    (
        "/v3/users/{user_id}",
        {"GET": users.show_user, "PATCH": users.update_user, "DELETE": users.delete_user},
    ),
    ("/v3/users/{user_id}/password", {"POST": users.change_password}),
    ("/v3/users/{user_id}/projects", {"GET": projects.list_user_projects}),
    ("/v3/users/{user_id}/groups", {"GET": groups.list_user_groups}),
    (
        "/v3/users/{user_id}/application_credentials",
        {
            "GET": application_credentials.list_application_credentials,
            "POST": application_credentials.create_application_credential,
        },
    ),
    ("/v3/users/{user_id}/application_credentials/{application_credential_id}", APP_CREDENTIAL),
    # project tags
    (
        "/v3/projects/{project_id}/tags",
        {
            "GET": project_tags.list_tags,
            "PUT": project_tags.replace_tags,
            "DELETE": project_tags.clear_tags,
        },
    ),
    (
        "/v3/projects/{project_id}/tags/{tag}",
        {
            "GET": project_tags.check_tag,
            "PUT": project_tags.add_tag,
            "DELETE": project_tags.remove_tag,
        },
    ),
    # domains
    ("/v3/domains", {"GET": domains.list_domains, "POST": domains.create_domain}),
    (
        "/v3/domains/{domain_id}",
        {
            "GET": domains.show_domain,
            "PATCH": domains.update_domain,
            "DELETE": domains.delete_domain,
        },
    ),
    # groups
    ("/v3/groups", {"GET": groups.list_groups, "POST": groups.create_group}),
    (
        "/v3/groups/{group_id}",
        {"GET": groups.show_group, "PATCH": groups.update_group, "DELETE": groups.delete_group},
    ),
    ("/v3/groups/{group_id}/users", {"GET": groups.list_members}),
    (
        "/v3/groups/{group_id}/users/{user_id}",
        {"GET": groups.check_member, "PUT": groups.add_member, "DELETE": groups.remove_member},
    ),
    # roles and implied roles
    ("/v3/roles", {"GET": roles.list_roles, "POST": roles.create_role}),
    (
        "/v3/roles/{role_id}",
        {"GET": roles.show_role, "PATCH": roles.update_role, "DELETE": roles.delete_role},
    ),
    ("/v3/roles/{prior_role_id}/implies", {"GET": roles.list_implied_roles}),
    (
        "/v3/roles/{prior_role_id}/implies/{implied_role_id}",
        {
            "GET": roles.show_implied_role,
            "HEAD": roles.check_implied_role,
            "PUT": roles.create_implied_role,
            "DELETE": roles.delete_implied_role,
        },
    ),
    ("/v3/role_inferences", {"GET": roles.list_role_inferences}),
    # grants
    ("/v3/projects/{project_id}/users/{user_id}/roles", GRANTS),
    ("/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", GRANT),
    ("/v3/projects/{project_id}/groups/{group_id}/roles", GRANTS),
    ("/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}", GRANT),
    ("/v3/domains/{domain_id}/users/{user_id}/roles", GRANTS),
    ("/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}", GRANT),
    ("/v3/domains/{domain_id}/groups/{group_id}/roles", GRANTS),
    ("/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}", GRANT),
    ("/v3/system/users/{user_id}/roles", GRANTS),
    ("/v3/system/users/{user_id}/roles/{role_id}", GRANT),
    ("/v3/system/groups/{group_id}/roles", GRANTS),
    ("/v3/system/groups/{group_id}/roles/{role_id}", GRANT),
    ("/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/inherited_to_projects", GRANTS),
    (
        "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects",
        GRANT,
    ),
    ("/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects", GRANTS),
    (
        "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}"
        "/inherited_to_projects",
        GRANT,
    ),
    (
        "/v3/OS-INHERIT/projects/{project_id}/users/{user_id}/roles/{role_id}"
        "/inherited_to_projects",
        GRANT,
    ),
    (
        "/v3/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles/{role_id}"
        "/inherited_to_projects",
        GRANT,
    ),
    ("/v3/role_assignments", {"GET": role_assignments.list_role_assignments}),
    # the catalog
    ("/v3/regions", {"GET": regions.list_regions, "POST": regions.create_region}),
    (
        "/v3/regions/{region_id}",
        {
            "GET": regions.show_region,
            "PUT": regions.create_region_with_id,
            "PATCH": regions.update_region,
            "DELETE": regions.delete_region,
        },
    ),
    ("/v3/services", {"GET": services.list_services, "POST": services.create_service}),
    (
        "/v3/services/{service_id}",
        {
            "GET": services.show_service,
            "PATCH": services.update_service,
            "DELETE": services.delete_service,
        },
    ),
    ("/v3/endpoints", {"GET": endpoints.list_endpoints, "POST": endpoints.create_endpoint}),
    (
        "/v3/endpoints/{endpoint_id}",
        {
            "GET": endpoints.show_endpoint,
            "PATCH": endpoints.update_endpoint,
            "DELETE": endpoints.delete_endpoint,
        },
    ),
]
