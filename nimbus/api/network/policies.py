"""Neutron's default policy rules (neutron/conf/policies/, secure RBAC defaults), so
that operators' policy.yaml files mean the same here.

Personas: the admin (role admin, cloud-wide), a project's member (writes) and reader
(reads). Handlers build Neutron's target: the resource's attributes, its owner as
``project_id``/``tenant_id``, and for resources on a network ``network_project_id``
(upstream's ``network:tenant_id``). Attribute rules (``create_network:shared``,
``get_port:binding:host_id``...) are checked for the attributes a request sets or a
response would show, as upstream's attribute-level enforcement does.

Deviations, both from the rule language: upstream's ``field:networks:shared=True``
is written ``True:%(shared)s`` (same meaning), and ``network:tenant_id`` is
``network_project_id`` because a rule's target path may not hold a colon.
"""

from __future__ import annotations

ADMIN = "rule:admin_only"
MEMBER = "rule:admin_or_project_member"
READER = "rule:admin_or_project_reader"
NETWORK_OWNER = "rule:admin_or_network_owner"

BASE = {
    "context_is_admin": "role:admin",
    "admin_only": "rule:context_is_admin",
    "project_member": "role:member and project_id:%(project_id)s",
    "project_reader": "role:reader and project_id:%(project_id)s",
    "admin_or_project_member": "rule:admin_only or rule:project_member",
    "admin_or_project_reader": "rule:admin_only or rule:project_reader",
    "network_owner": "role:member and project_id:%(network_project_id)s",
    "network_reader": "role:reader and project_id:%(network_project_id)s",
    "admin_or_network_owner": "rule:admin_only or rule:network_owner",
    "shared": "True:%(shared)s",
    "external": "True:%(external)s",
}

_PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
_BINDING = ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")

NETWORKS = {
    "create_network": MEMBER,
    "create_network:shared": ADMIN,
    "create_network:router:external": ADMIN,
    "create_network:is_default": ADMIN,
    "create_network:port_security_enabled": MEMBER,
    **{f"create_network:{attr}": ADMIN for attr in _PROVIDER},
    "get_network": f"{READER} or rule:shared or rule:external",
    "get_network:router:external": "@",
    **{f"get_network:{attr}": ADMIN for attr in _PROVIDER},
    "update_network": MEMBER,
    "update_network:shared": ADMIN,
    "update_network:router:external": ADMIN,
    "update_network:port_security_enabled": MEMBER,
    **{f"update_network:{attr}": ADMIN for attr in _PROVIDER},
    "delete_network": MEMBER,
}

SUBNETS = {
    "create_subnet": NETWORK_OWNER,
    "get_subnet": f"{READER} or rule:shared",
    "update_subnet": NETWORK_OWNER,
    "delete_subnet": NETWORK_OWNER,
}

SUBNET_POOLS = {
    "create_subnetpool": MEMBER,
    "create_subnetpool:shared": ADMIN,
    "create_subnetpool:is_default": ADMIN,
    "get_subnetpool": f"{READER} or rule:shared",
    "update_subnetpool": MEMBER,
    "update_subnetpool:is_default": ADMIN,
    "delete_subnetpool": MEMBER,
}

PORTS = {
    "create_port": f"{MEMBER} or rule:network_owner",
    "create_port:device_owner": NETWORK_OWNER,
    "create_port:mac_address": NETWORK_OWNER,
    "create_port:fixed_ips:ip_address": NETWORK_OWNER,
    "create_port:fixed_ips:subnet_id": f"{NETWORK_OWNER} or rule:shared",
    "create_port:port_security_enabled": NETWORK_OWNER,
    "create_port:allowed_address_pairs": NETWORK_OWNER,
    **{f"create_port:{attr}": ADMIN for attr in ("binding:host_id", "binding:profile")},
    "get_port": f"{READER} or rule:network_reader or rule:admin_or_network_owner",
    **{f"get_port:{attr}": ADMIN for attr in _BINDING},
    "update_port": f"{MEMBER} or rule:network_owner",
    "update_port:device_owner": NETWORK_OWNER,
    "update_port:mac_address": ADMIN,
    "update_port:fixed_ips:ip_address": NETWORK_OWNER,
    "update_port:fixed_ips:subnet_id": f"{NETWORK_OWNER} or rule:shared",
    "update_port:port_security_enabled": NETWORK_OWNER,
    "update_port:allowed_address_pairs": NETWORK_OWNER,
    **{f"update_port:{attr}": ADMIN for attr in ("binding:host_id", "binding:profile")},
    "delete_port": f"{MEMBER} or rule:network_owner",
}

ROUTERS = {
    "create_router": MEMBER,
    "create_router:external_gateway_info": MEMBER,
    "create_router:external_gateway_info:network_id": MEMBER,
    "create_router:external_gateway_info:enable_snat": ADMIN,
    "create_router:external_gateway_info:external_fixed_ips": ADMIN,
    "create_router:distributed": ADMIN,
    "create_router:ha": ADMIN,
    "get_router": READER,
    "get_router:distributed": ADMIN,
    "get_router:ha": ADMIN,
    "update_router": MEMBER,
    "update_router:external_gateway_info": MEMBER,
    "update_router:external_gateway_info:network_id": MEMBER,
    "update_router:external_gateway_info:enable_snat": ADMIN,
    "update_router:external_gateway_info:external_fixed_ips": ADMIN,
    "update_router:distributed": ADMIN,
    "update_router:ha": ADMIN,
    "delete_router": MEMBER,
    "add_router_interface": MEMBER,
    "remove_router_interface": MEMBER,
}

FLOATING_IPS = {
    "create_floatingip": MEMBER,
    "create_floatingip:floating_ip_address": ADMIN,
    "get_floatingip": READER,
    "update_floatingip": MEMBER,
    "delete_floatingip": MEMBER,
}

SECURITY_GROUPS = {
    "create_security_group": MEMBER,
    "get_security_group": READER,
    "update_security_group": MEMBER,
    "delete_security_group": MEMBER,
    "create_security_group_rule": MEMBER,
    "get_security_group_rule": READER,
    "delete_security_group_rule": MEMBER,
}

QUOTAS = {
    "get_quota": READER,
    "update_quota": ADMIN,
    "delete_quota": ADMIN,
}

RULES = {
    **NETWORKS,
    **SUBNETS,
    **SUBNET_POOLS,
    **PORTS,
    **ROUTERS,
    **FLOATING_IPS,
    **SECURITY_GROUPS,
    **QUOTAS,
    "get_extension": "@",
    "get_availability_zone": "@",
}

DEFAULTS = {**BASE, **RULES}
#: Upstream's rules are for project-scoped tokens.
SCOPE_TYPES = {name: ("project",) for name in RULES}
