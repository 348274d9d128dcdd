"""The whole Identity v3 HTTP surface, one row per path."""

from __future__ import annotations

from nimbus.api.common.app import RouteTable
from nimbus.api.identity import projects, tokens, users, versions

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
]
