"""Keystone's default policy rules, so that operators' policy.yaml files mean the same here.

The rules follow upstream's "secure RBAC" personas: *admin* (anywhere: Keystone's admin
role is cloud-wide), *manager* (a domain's delegated administrator), *member* and
*reader*, each on a system, domain or project scope, plus the *service* role.

What the handlers put in the target, per family (``target.x.y`` may be given nested,
``{"target": {"x": {"y": ...}}}``, or flattened, ``{"target.x.y": ...}``):

- tokens: ``target.token.user_id``, the owner of the subject token (X-Subject-Token).
- domains: ``target.domain.id``; for list_domains, the caller's domain when the token
  is domain-scoped (and no target otherwise).
- projects: ``target.project.id`` and ``target.project.domain_id`` (for create, those
  of the project being created); list_projects: ``target.domain_id``, the caller's
  domain when domain-scoped; list_user_projects: ``target.user.id`` and
  ``target.user.domain_id``.
- users: ``target.user.id`` and ``target.user.domain_id`` (create: the new user's);
  list_users: ``target.domain_id``, the caller's domain when domain-scoped.
- groups: ``target.group.domain_id`` (list_groups: the caller's domain when
  domain-scoped); membership operations add ``target.user.domain_id``;
  list_groups_for_user uses ``target.user.domain_id`` and the top-level ``user_id``
  (the path parameter, as Keystone copies path parameters into the target).
- roles: get_role ``target.role.name``; grants need ``target.role.name`` and
  ``target.role.domain_id`` (present and None for a global role, or the domain check
  fails), the actor's ``target.user.domain_id`` or ``target.group.domain_id``, and
  ``target.project.domain_id`` or ``target.domain.id``.
- role assignments: ``target.domain_id``, the caller's domain when domain-scoped; for
  list_role_assignments_for_tree, ``target.project`` and ``target.domain_id`` = that
  project's domain.
- application credentials: the top-level ``user_id``, which for get and delete must be
  the credential's owner looked up from the database, not the path's user id (Keystone
  overwrites it so that naming yourself in the URL cannot reach another user's
  credential).
- credentials: ``target.credential.user_id``.
- services, endpoints, regions, implied roles, system grants: no target.
"""

# Rules as in upstream Keystone 29.0.0 (the 2026.1 release), keystone/common/policies/;
# still the same on its master branch as of July 2026.  Deviations, all deliberate:
#   * Keystone's credentials carry the rendered token, and some rules read
#     ``token.domain.id`` (the domain a token is scoped to) and ``token.project.domain.id``;
#     our credentials are flat, so those read ``domain_id`` and ``project_domain_id``.
#   * There is no rule for a user changing their own password: upstream removed it in
#     Pike (bug 1705485) because that call is authenticated by the old password, not by
#     a token.  Administrative resets are "identity:update_user".
# The rules for the 'manager' persona name the role that bootstrap creates (as upstream's
# does: admin implies manager, manager implies member).
# Upstream also enforces each rule's scope types (oslo.policy no longer lets a deployment
# turn that off): SCOPE_TYPES lists the rules that some token scope may not use at all;
# hand it to the enforcer as Enforcer(DEFAULTS, policy_file, scope_types=SCOPE_TYPES).

_ADMIN = "rule:admin_required"
_SYSTEM_READER = "(role:reader and system_scope:all)"
_ADMIN_OR_SYSTEM_READER = f"{_ADMIN} or {_SYSTEM_READER}"


def _domain_reader(domain_path: str) -> str:
    """A reader whose domain-scoped token is for the domain found at ``domain_path``."""
    return f"(role:reader and domain_id:%({domain_path})s)"


# Listings: a domain reader gets them when the handler puts its own domain in the target.
_ADMIN_SYSTEM_OR_DOMAIN_READER = (
    f"({_ADMIN}) or {_SYSTEM_READER} or {_domain_reader('target.domain_id')}"
)
# A project's domain, when the project has one (a project acting as a domain has none).
_IN_PROJECT_DOMAIN = (
    "domain_id:%(target.project.domain_id)s and not None:%(target.project.domain_id)s"
)
_PROJECT_READER = (
    f"({_ADMIN}) or {_SYSTEM_READER} or (role:reader and {_IN_PROJECT_DOMAIN})"
    " or project_id:%(target.project.id)s"
)
_PROJECT_MANAGER = f"({_ADMIN}) or (role:manager and {_IN_PROJECT_DOMAIN})"
_USER_MANAGER = f"({_ADMIN}) or (role:manager and domain_id:%(target.user.domain_id)s)"
_GROUP_READER = f"({_ADMIN}) or {_SYSTEM_READER} or {_domain_reader('target.group.domain_id')}"
_GROUP_MANAGER = f"({_ADMIN}) or (role:manager and domain_id:%(target.group.domain_id)s)"
_MEMBERSHIP_DOMAINS = "domain_id:%(target.group.domain_id)s and domain_id:%(target.user.domain_id)s"
_CREDENTIAL_OWNER = "user_id:%(target.credential.user_id)s"


def _grant_domains(role: str) -> str:
    """``role`` held on the domain of both the actor (user or group) and the target."""
    pairs = [
        f"(role:{role} and domain_id:%(target.{actor}.domain_id)s and domain_id:%({scope})s)"
        for actor in ("user", "group")
        for scope in ("target.project.domain_id", "target.domain.id")
    ]
    return "(" + " or ".join(pairs) + ")"


# The role granted is global, or belongs to the caller's domain.
_ROLE_IN_DOMAIN = "(domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s)"
_GRANT_ADMIN = (
    f"({_ADMIN}) or ({_grant_domains('admin')} and {_ROLE_IN_DOMAIN})"
    f" or ({_grant_domains('manager')} and rule:domain_managed_target_role)"
)

DEFAULTS: dict[str, str] = {
    # Building blocks other rules refer to.
    "admin_required": "role:admin or is_admin:1",
    "service_role": "role:service",
    "service_or_admin": "rule:admin_required or rule:service_role",
    "owner": "user_id:%(user_id)s",
    "admin_or_owner": "rule:admin_required or rule:owner",
    "token_subject": "user_id:%(target.token.user_id)s",
    "admin_or_token_subject": "rule:admin_required or rule:token_subject",
    "service_admin_or_token_subject": "rule:service_or_admin or rule:token_subject",
    # The roles a domain manager may hand out: nothing above its own.
    "domain_managed_target_role": " or ".join(
        f"'{name}':%(target.role.name)s" for name in ("manager", "member", "reader")
    ),
    # Tokens.
    "identity:check_token": f"{_ADMIN_OR_SYSTEM_READER} or rule:token_subject",
    "identity:validate_token": (
        f"{_ADMIN_OR_SYSTEM_READER} or rule:service_role or rule:token_subject"
    ),
    "identity:revoke_token": f"{_ADMIN} or rule:token_subject",
    # What the caller's own token gives access to.
    "identity:get_auth_catalog": "",
    "identity:get_auth_projects": "",
    "identity:get_auth_domains": "",
    "identity:get_auth_system": "",
    # Domains.
    "identity:get_domain": (
        f"{_ADMIN_OR_SYSTEM_READER} or domain_id:%(target.domain.id)s"
        " or project_domain_id:%(target.domain.id)s"
    ),
    "identity:list_domains": f"{_ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain.id')}",
    "identity:create_domain": _ADMIN,
    "identity:update_domain": _ADMIN,
    "identity:delete_domain": _ADMIN,
    # Projects and their tags.
    "identity:get_project": _PROJECT_READER,
    "identity:list_projects": _ADMIN_SYSTEM_OR_DOMAIN_READER,
    "identity:list_user_projects": (
        f"({_ADMIN}) or {_SYSTEM_READER} or {_domain_reader('target.user.domain_id')}"
        " or user_id:%(target.user.id)s"
    ),
    "identity:create_project": _PROJECT_MANAGER,
    "identity:update_project": _PROJECT_MANAGER,
    "identity:delete_project": _PROJECT_MANAGER,
    "identity:list_project_tags": _PROJECT_READER,
    "identity:get_project_tag": _PROJECT_READER,
    "identity:update_project_tags": _PROJECT_MANAGER,
    "identity:create_project_tag": _PROJECT_MANAGER,
    "identity:delete_project_tags": _PROJECT_MANAGER,
    "identity:delete_project_tag": _PROJECT_MANAGER,
    # Users.
    "identity:get_user": (
        f"({_ADMIN}) or {_SYSTEM_READER} or {_domain_reader('target.user.domain_id')}"
        " or user_id:%(target.user.id)s"
    ),
    "identity:list_users": _ADMIN_SYSTEM_OR_DOMAIN_READER,
    "identity:create_user": _USER_MANAGER,
    "identity:update_user": _USER_MANAGER,
    "identity:delete_user": _USER_MANAGER,
    # Groups and membership.
    "identity:get_group": _GROUP_READER,
    "identity:list_groups": _GROUP_READER,
    "identity:list_groups_for_user": (
        f"({_ADMIN}) or {_SYSTEM_READER} or {_domain_reader('target.user.domain_id')}"
        " or user_id:%(user_id)s"
    ),
    "identity:create_group": _GROUP_MANAGER,
    "identity:update_group": _GROUP_MANAGER,
    "identity:delete_group": _GROUP_MANAGER,
    "identity:list_users_in_group": _GROUP_READER,
    "identity:check_user_in_group": (
        f"({_ADMIN}) or {_SYSTEM_READER} or (role:reader and {_MEMBERSHIP_DOMAINS})"
    ),
    "identity:add_user_to_group": f"({_ADMIN}) or (role:manager and {_MEMBERSHIP_DOMAINS})",
    "identity:remove_user_from_group": f"({_ADMIN}) or (role:manager and {_MEMBERSHIP_DOMAINS})",
    # Global roles: a domain manager sees the ones it may assign.
    "identity:get_role": (
        f"{_ADMIN_OR_SYSTEM_READER} or (role:manager and rule:domain_managed_target_role)"
    ),
    "identity:list_roles": f"{_ADMIN_OR_SYSTEM_READER} or (role:manager and not domain_id:None)",
    "identity:create_role": _ADMIN,
    "identity:update_role": _ADMIN,
    "identity:delete_role": _ADMIN,
    # Domain-specific roles.
    "identity:get_domain_role": _ADMIN_OR_SYSTEM_READER,
    "identity:list_domain_roles": _ADMIN_OR_SYSTEM_READER,
    "identity:create_domain_role": _ADMIN,
    "identity:update_domain_role": _ADMIN,
    "identity:delete_domain_role": _ADMIN,
    # Implied roles.
    "identity:get_implied_role": _ADMIN_OR_SYSTEM_READER,
    "identity:list_implied_roles": _ADMIN_OR_SYSTEM_READER,
    "identity:list_role_inference_rules": _ADMIN_OR_SYSTEM_READER,
    "identity:check_implied_role": _ADMIN_OR_SYSTEM_READER,
    "identity:create_implied_role": _ADMIN,
    "identity:delete_implied_role": _ADMIN,
    # Grants on projects and domains, to users and groups.
    "identity:check_grant": (
        f"({_ADMIN}) or {_SYSTEM_READER} or ({_grant_domains('reader')} and {_ROLE_IN_DOMAIN})"
    ),
    "identity:list_grants": f"({_ADMIN}) or {_SYSTEM_READER} or {_grant_domains('reader')}",
    "identity:create_grant": _GRANT_ADMIN,
    "identity:revoke_grant": _GRANT_ADMIN,
    # Grants on the system.
    "identity:list_system_grants_for_user": _ADMIN_OR_SYSTEM_READER,
    "identity:check_system_grant_for_user": _ADMIN_OR_SYSTEM_READER,
    "identity:create_system_grant_for_user": _ADMIN,
    "identity:revoke_system_grant_for_user": _ADMIN,
    "identity:list_system_grants_for_group": _ADMIN_OR_SYSTEM_READER,
    "identity:check_system_grant_for_group": _ADMIN_OR_SYSTEM_READER,
    "identity:create_system_grant_for_group": _ADMIN,
    "identity:revoke_system_grant_for_group": _ADMIN,
    # Role assignments.
    "identity:list_role_assignments": _ADMIN_SYSTEM_OR_DOMAIN_READER,
    "identity:list_role_assignments_for_tree": _ADMIN_SYSTEM_OR_DOMAIN_READER,
    # The catalog: services, endpoints, regions.
    "identity:get_service": _ADMIN_OR_SYSTEM_READER,
    "identity:list_services": _ADMIN_OR_SYSTEM_READER,
    "identity:create_service": _ADMIN,
    "identity:update_service": _ADMIN,
    "identity:delete_service": _ADMIN,
    "identity:get_endpoint": _ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoints": _ADMIN_OR_SYSTEM_READER,
    "identity:create_endpoint": _ADMIN,
    "identity:update_endpoint": _ADMIN,
    "identity:delete_endpoint": _ADMIN,
    "identity:get_region": "",
    "identity:list_regions": "",
    "identity:create_region": _ADMIN,
    "identity:update_region": _ADMIN,
    "identity:delete_region": _ADMIN,
    # Application credentials: their owner manages them.
    "identity:get_application_credential": f"({_ADMIN}) or {_SYSTEM_READER} or rule:owner",
    "identity:list_application_credentials": f"({_ADMIN}) or {_SYSTEM_READER} or rule:owner",
    "identity:create_application_credential": "user_id:%(user_id)s",
    "identity:delete_application_credential": "rule:admin_or_owner",
    # Credentials (EC2, TOTP...): their owner manages them.
    "identity:get_credential": f"({_ADMIN}) or {_SYSTEM_READER} or {_CREDENTIAL_OWNER}",
    "identity:list_credentials": f"({_ADMIN}) or {_SYSTEM_READER} or {_CREDENTIAL_OWNER}",
    "identity:create_credential": f"({_ADMIN}) or {_CREDENTIAL_OWNER}",
    "identity:update_credential": f"({_ADMIN}) or {_CREDENTIAL_OWNER}",
    "identity:delete_credential": f"({_ADMIN}) or {_CREDENTIAL_OWNER}",
}

_SYSTEM_OR_PROJECT = ("system", "project")

# Token scopes a rule accepts, where upstream restricts them (others accept any scope).
# Mostly catalog and role-definition operations, which a domain-scoped token may not use.
SCOPE_TYPES: dict[str, tuple[str, ...]] = {
    **{
        f"identity:{operation}": _SYSTEM_OR_PROJECT
        for operation in (
            "create_domain",
            "update_domain",
            "delete_domain",
            "create_role",
            "update_role",
            "delete_role",
            "get_domain_role",
            "list_domain_roles",
            "create_domain_role",
            "update_domain_role",
            "delete_domain_role",
            "get_implied_role",
            "list_implied_roles",
            "list_role_inference_rules",
            "check_implied_role",
            "create_implied_role",
            "delete_implied_role",
            "list_system_grants_for_user",
            "check_system_grant_for_user",
            "create_system_grant_for_user",
            "revoke_system_grant_for_user",
            "list_system_grants_for_group",
            "check_system_grant_for_group",
            "create_system_grant_for_group",
            "revoke_system_grant_for_group",
            "get_service",
            "list_services",
            "create_service",
            "update_service",
            "delete_service",
            "get_endpoint",
            "list_endpoints",
            "create_endpoint",
            "update_endpoint",
            "delete_endpoint",
            "create_region",
            "update_region",
            "delete_region",
            "get_application_credential",
            "list_application_credentials",
            "delete_application_credential",
        )
    },
    "identity:create_application_credential": ("project",),
}
