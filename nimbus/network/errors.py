"""Neutron's errors: the upstream exception names (the ``type`` of an error body),
statuses and messages (neutron_lib.exceptions), so that clients and Tempest that
match on them keep working."""

from __future__ import annotations

from typing import Any

from nimbus.errors import BadRequest as HttpBadRequest
from nimbus.errors import Conflict, Forbidden, NimbusError, NotFound


class NeutronError(NimbusError):
    """Base of the typed errors: `template` is formatted with the keyword arguments,
    and the class name is the body's ``type``."""

    template = ""

    def __init__(self, **fields: Any) -> None:
        super().__init__(self.template.format(**fields), error_code=type(self).__name__)


# --- 400 ------------------------------------------------------------------------------


class InvalidInput(NeutronError, HttpBadRequest):
    template = "Invalid input for operation: {error_message}."


class BadRequest(NeutronError, HttpBadRequest):
    template = "Bad {resource} request: {msg}."


class InvalidAllocationPool(NeutronError, HttpBadRequest):
    template = "The allocation pool {pool} is not valid."


class OutOfBoundsAllocationPool(NeutronError, HttpBadRequest):
    template = "The allocation pool {pool} spans beyond the subnet cidr {subnet_cidr}."


class SecurityGroupRemoteGroupAndRemoteIpPrefix(NeutronError, HttpBadRequest):
    template = "Only remote_ip_prefix or remote_group_id may be provided."


class SecurityGroupInvalidPortRange(NeutronError, HttpBadRequest):
    template = "{reason}"


class SecurityGroupRuleInvalidProtocol(NeutronError, HttpBadRequest):
    template = (
        "Security group rule protocol {protocol} not supported. Only protocol values "
        "{values} and integer representations [0 to 255] are supported."
    )


class SecurityGroupRuleParameterConflict(NeutronError, HttpBadRequest):
    template = "Conflicting value ethertype {ethertype} for CIDR {cidr}"


class InvalidRoutes(NeutronError, HttpBadRequest):
    template = "Invalid format for routes: {routes}, {reason}"


class ExternalIpAddressExhausted(NeutronError, HttpBadRequest):
    template = "Unable to find any IP address on external network {net_id}."


class SecurityGroupProtocolRequiredWithPorts(NeutronError, HttpBadRequest):
    template = "Must also specify protocol if port range is given."


class SecurityGroupInvalidIcmpValue(NeutronError, HttpBadRequest):
    template = "Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255."


class SecurityGroupMissingIcmpType(NeutronError, HttpBadRequest):
    template = (
        "ICMP code (port-range-max) {value} is provided but ICMP type (port-range-min) is missing."
    )


class SecurityGroupInvalidPortValue(NeutronError, HttpBadRequest):
    template = "Invalid value for port {port}."


class SecurityGroupRuleInvalidEtherType(NeutronError, HttpBadRequest):
    template = (
        "Security group rule for ethertype '{ethertype}' not supported. "
        "Allowed values are {values}."
    )


class SecurityGroupEthertypeConflictWithProtocol(NeutronError, HttpBadRequest):
    template = "Invalid ethertype {ethertype} for protocol {protocol}."


class PortSecurityAndIPRequiredForSecurityGroups(NeutronError, HttpBadRequest):
    template = (
        "Port security must be enabled and port must have an IP address in order to use "
        "security groups."
    )


class SubnetMismatchForPort(NeutronError, HttpBadRequest):
    template = "Subnet on port {port_id} does not match the requested subnet {subnet_id}."


# --- 403 ------------------------------------------------------------------------------


class PolicyNotAuthorized(NeutronError, Forbidden):
    template = "({action}) is disallowed by policy"


# --- 404 ------------------------------------------------------------------------------


class NetworkNotFound(NeutronError, NotFound):
    template = "Network {net_id} could not be found."


class SubnetNotFound(NeutronError, NotFound):
    template = "Subnet {subnet_id} could not be found."


class PortNotFound(NeutronError, NotFound):
    template = "Port {port_id} could not be found."


class RouterNotFound(NeutronError, NotFound):
    template = "Router {router_id} could not be found"


class FloatingIPNotFound(NeutronError, NotFound):
    template = "Floating IP {floatingip_id} could not be found"


class SecurityGroupNotFound(NeutronError, NotFound):
    template = "Security group {id} does not exist"


class SecurityGroupRuleNotFound(NeutronError, NotFound):
    template = "Security group rule {id} does not exist"


class RouterInterfaceNotFound(NeutronError, NotFound):
    template = "Router {router_id} does not have an interface with id {port_id}"


class RouterInterfaceNotFoundForSubnet(NeutronError, NotFound):
    template = "Router {router_id} has no interface on subnet {subnet_id}"


class ExternalGatewayForFloatingIPNotFound(NeutronError, NotFound):
    template = (
        "External network {external_network_id} is not reachable from subnet {subnet_id}.  "
        "Therefore, cannot associate Port {port_id} with a Floating IP."
    )


class ExtensionNotFound(NeutronError, NotFound):
    template = "Extension with alias {extension_alias} does not exist"


class TagNotFound(NeutronError, NotFound):
    template = "Tag {tag} could not be found."


class SubnetPoolNotFound(NeutronError, NotFound):
    template = "Subnet pool {subnetpool_id} could not be found."


# --- 409 ------------------------------------------------------------------------------


class NetworkInUse(NeutronError, Conflict):
    template = (
        "Unable to complete operation on network {net_id}. "
        "There are one or more ports still in use on the network."
    )


class SubnetInUse(NeutronError, Conflict):
    template = (
        "Unable to complete operation on subnet {subnet_id}: "
        "One or more ports have an IP allocation from this subnet."
    )


class PortInUse(NeutronError, Conflict):
    template = (
        "Unable to complete operation on port {port_id} for network {net_id}. "
        "Port already has an attached device {device_id}."
    )


class IpAddressInUse(NeutronError, Conflict):
    template = (
        "Unable to complete operation for network {net_id}. The IP address {ip_address} is in use."
    )


class IpAddressGenerationFailure(NeutronError, Conflict):
    template = "No more IP addresses available on network {net_id}."


class MacAddressInUse(NeutronError, Conflict):
    template = "Unable to complete operation for network {net_id}. The mac address {mac} is in use."


class GatewayConflictWithAllocationPools(NeutronError, Conflict):
    template = "Gateway ip {ip_address} conflicts with allocation pool {pool}."


class OverlappingAllocationPools(NeutronError, Conflict):
    template = "Found overlapping allocation pools: {pool_1} and {pool_2} for subnet {subnet_cidr}."


class TunnelIdInUse(NeutronError, Conflict):
    template = "Unable to create the network. The tunnel ID {tunnel_id} is in use."


class VlanIdInUse(NeutronError, Conflict):
    template = (
        "Unable to create the network. The VLAN {vlan_id} on physical network "
        "{physical_network} is in use."
    )


class FlatNetworkInUse(NeutronError, Conflict):
    template = "Unable to create the flat network. Physical network {physical_network} is in use."


class OverQuota(NeutronError, Conflict):
    template = "Quota exceeded for resources: {overs}."


class SecurityGroupRuleExists(NeutronError, Conflict):
    template = "Security group rule already exists. Rule id is {rule_id}."


class SecurityGroupInUse(NeutronError, Conflict):
    template = "Security Group {id} in use."


class SecurityGroupCannotRemoveDefault(NeutronError, Conflict):
    template = "Insufficient rights for removing default security group."


class RouterInUse(NeutronError, Conflict):
    template = "Router {router_id} {reason}"


class RouterInterfaceInUseByFloatingIP(NeutronError, Conflict):
    template = (
        "Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, "
        "as it is required by one or more floating IPs."
    )


class RouterExternalGatewayInUseByFloatingIp(NeutronError, Conflict):
    template = (
        "Gateway cannot be updated for router {router_id}, since a gateway to external "
        "network {net_id} is required by one or more floating IPs."
    )


class FloatingIPPortAlreadyAssociated(NeutronError, Conflict):
    template = (
        "Cannot associate floating IP {floating_ip_address} ({fip_id}) with port {port_id} "
        "using fixed IP {fixed_ip}, as that fixed IP already has a floating IP on external "
        "network {net_id}."
    )


class SecurityGroupCannotUpdateDefault(NeutronError, Conflict):
    template = "Updating default security group not allowed."


class AddressPairAndPortSecurityRequired(NeutronError, Conflict):
    template = "Port Security must be enabled in order to have allowed address pairs on a port."


class PortBound(NeutronError, Conflict):
    template = "Unable to complete operation on port {port_id}: the port is bound."


class L3PortInUse(NeutronError, Conflict):
    template = (
        "Port {port_id} cannot be deleted directly via the port API: has device owner "
        "{device_owner}."
    )


class SecurityGroupDefaultAlreadyExists(NeutronError, Conflict):
    template = "Default security group already exists."


class SubnetPoolInUse(NeutronError, Conflict):
    template = "Subnet pool {subnet_pool_id} cannot be deleted: it is used by subnets."


class SubnetAllocationError(NeutronError, Conflict):
    template = "Failed to allocate subnet: {reason}."


# --- 503 ------------------------------------------------------------------------------


class NoNetworkAvailable(NeutronError):
    code = 503
    title = "Service Unavailable"
    template = "Unable to create the network. No tenant network is available for allocation."
