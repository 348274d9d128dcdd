"""Request bodies of the compute resources other than servers, with Nova's rules
(nova/api/openstack/compute/schemas/ and nova/api/validation/parameter_types.py).

Nova's JSON schemas accept some integers as strings of digits ("ram": "512"), take
booleans in oslo's spellings ("True", "yes", "0"...), and refuse names with leading or
trailing whitespace or unprintable characters; the annotated types below carry those
rules once. Every model refuses unknown fields, as Nova's ``additionalProperties:
false`` does, and each body has its one top-level key.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictFloat, StrictInt, create_model

from nimbus.api.common.body import Open, Strict

#: Nova's db.MAX_INT: the largest value of a 32-bit signed integer column.
MAX_INT = 0x7FFFFFFF
#: Nova's SQL_SP_FLOAT_MAX: the largest single-precision float (rxtx_factor).
SQL_SP_FLOAT_MAX = 3.40282e38

_PRINTABLE_CATEGORIES = ("L", "N", "P", "S")
_TRUE = ("True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes")
_FALSE = ("False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no")


def _printable(char: str) -> bool:
    category = unicodedata.category(char)
    return category.startswith(_PRINTABLE_CATEGORIES) or category == "Zs"


def _name(value: str) -> str:
    """Nova's 'name' format: printable, not starting or ending with whitespace."""
    if not all(_printable(c) for c in value) or value != value.strip():
        raise ValueError(
            "An invalid 'name' value was provided. The name must be: printable "
            "characters. Can not start or end with whitespace."
        )
    return value


def _description(value: str | None) -> str | None:
    if value is not None and not all(_printable(c) or c in "\n\r\t" for c in value):
        raise ValueError(f"'{value}' does not match the printable-characters pattern")
    return value


def _boolean(value: Any) -> Any:
    """oslo's spellings of a boolean, as parameter_types.boolean enumerates them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _TRUE:
        return True
    if isinstance(value, str) and value in _FALSE:
        return False
    raise ValueError(f"{value!r} is not one of the allowed boolean values")


def _int_like(minimum: int, maximum: int = MAX_INT) -> AfterValidator:
    """An integer, or a string of digits read as one, within [minimum, maximum]
    (a leading '-' only where negative values are allowed)."""
    pattern = re.compile(r"-?[0-9]+" if minimum < 0 else r"[0-9]+")

    def check(value: int | str) -> int:
        if isinstance(value, str):
            if not pattern.fullmatch(value):
                raise ValueError(f"'{value}' does not match '^{pattern.pattern}$'")
            value = int(value)
        if value < minimum:
            raise ValueError(f"{value} is less than the minimum of {minimum}")
        if value > maximum:
            raise ValueError(f"{value} is greater than the maximum of {maximum}")
        return value

    return AfterValidator(check)


def _az_name(value: str) -> str:
    """Nova's 'az_name' format: a name without ':'."""
    if ":" in _name(value):
        raise ValueError(
            "An invalid 'availability_zone' value was provided. The availability_zone must "
            "be: printable characters except :.Can not start or end with whitespace."
        )
    return value


Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_name)]
ZoneName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_az_name)]
#: A host name as Nova's 'fqdn' parameter type allows it (underscores included).
HostName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9-._]*$")]
#: A string of 1-255 characters (binaries, reasons).
Text255 = Annotated[str, Field(min_length=1, max_length=255)]
Description = Annotated[str | None, Field(max_length=255), AfterValidator(_description)]
LongDescription = Annotated[str | None, Field(max_length=65535), AfterValidator(_description)]
Boolean = Annotated[bool, BeforeValidator(_boolean)]
PositiveInt = Annotated[StrictInt | str, _int_like(1)]
NonNegativeInt = Annotated[StrictInt | str, _int_like(0)]
ProjectId = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9-]*$")]

#: Keys of metadata (flavor extra specs, aggregate metadata, server metadata).
METADATA_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")


def metadata(value_types: tuple[type, ...], *, nullable: bool = False) -> AfterValidator:
    """Nova's metadata object: keys of METADATA_KEY, values of `value_types` (strings
    at most 255 characters), null too when `nullable` (deletes a key)."""

    def check(items: dict[str, Any]) -> dict[str, Any]:
        for key, value in items.items():
            if not METADATA_KEY.match(key):
                raise ValueError(f"Additional properties are not allowed ('{key}' was unexpected)")
            if value is None and nullable:
                continue
            if isinstance(value, bool) or not isinstance(value, value_types):
                raise ValueError(f"{value!r} is not of the type of a metadata value")
            if isinstance(value, str) and len(value) > 255:
                raise ValueError(f"'{value}' is too long")
        return items

    return AfterValidator(check)


# --- flavors --------------------------------------------------------------------------

_FLAVOR_ID = re.compile(r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")


def _flavor_id(value: str | int | float | None) -> str | int | float | None:
    """Strings must be 1-255 of letters, digits, '.', '_', '-' and inner spaces;
    numbers are taken as they are (Nova stores str(id))."""
    if isinstance(value, str) and not (len(value) <= 255 and _FLAVOR_ID.match(value)):
        raise ValueError(f"'{value}' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'")
    return value


def _rxtx_factor(value: float | int | str) -> float:
    """A positive float, also as a string of digits with an optional fraction."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
            raise ValueError(f"'{value}' does not match '^[0-9]+(\\.[0-9]+)?$'")
        value = float(value)
    if not 0 < value <= SQL_SP_FLOAT_MAX:
        raise ValueError(f"{value} is not a positive number up to {SQL_SP_FLOAT_MAX:g}")
    return float(value)


FlavorId = Annotated[str | StrictInt | StrictFloat | None, AfterValidator(_flavor_id)]
RxtxFactor = Annotated[StrictFloat | StrictInt | str, AfterValidator(_rxtx_factor)]


class _FlavorFields(Strict):
    name: Name
    id: FlavorId = None
    ram: PositiveInt
    vcpus: PositiveInt
    disk: NonNegativeInt
    ephemeral: NonNegativeInt = Field(0, alias="OS-FLV-EXT-DATA:ephemeral")
    swap: NonNegativeInt = 0
    is_public: Boolean = Field(True, alias="os-flavor-access:is_public")


class NewFlavor(_FlavorFields):
    rxtx_factor: RxtxFactor = 1.0


class NewFlavorV255(NewFlavor):
    description: LongDescription = None


class NewFlavorV2102(_FlavorFields):
    """2.102: no rxtx_factor any more."""

    description: LongDescription = None


class FlavorCreate(Strict):
    flavor: NewFlavor


class FlavorCreateV255(Strict):
    flavor: NewFlavorV255


class FlavorCreateV2102(Strict):
    flavor: NewFlavorV2102


class FlavorChange(Strict):
    description: LongDescription


class FlavorUpdate(Strict):
    flavor: FlavorChange


class TenantAccess(Strict):
    tenant: Annotated[str, Field(min_length=1, max_length=255)]


class AddTenantAccess(Strict):
    add: TenantAccess = Field(alias="addTenantAccess")


class RemoveTenantAccess(Strict):
    remove: TenantAccess = Field(alias="removeTenantAccess")


#: Extra spec values may be numbers too (stored as their string).
ExtraSpecs = Annotated[dict[str, Any], metadata((str, int, float))]


class ExtraSpecsCreate(Strict):
    extra_specs: ExtraSpecs


# --- key pairs ------------------------------------------------------------------------

KeypairName = Annotated[Name, Field(pattern=r"^[_\- a-zA-Z0-9]+$")]
KeypairNameV292 = Annotated[Name, Field(pattern=r"^[_\-\@\. a-zA-Z0-9]+$")]


class NewKeypair(Strict):
    name: KeypairName
    public_key: str | None = None


class NewKeypairV22(NewKeypair):
    type: Literal["ssh", "x509"] = "ssh"


class NewKeypairV210(NewKeypairV22):
    user_id: str | None = None


class NewKeypairV292(NewKeypairV210):
    name: KeypairNameV292  # type: ignore[assignment]
    public_key: str  # type: ignore[assignment]


class KeypairCreate(Strict):
    keypair: NewKeypair


class KeypairCreateV22(Strict):
    keypair: NewKeypairV22


class KeypairCreateV210(Strict):
    keypair: NewKeypairV210


class KeypairCreateV292(Strict):
    keypair: NewKeypairV292


# --- server groups --------------------------------------------------------------------


class NewServerGroup(Strict):
    name: Name
    policies: Annotated[
        list[Literal["anti-affinity", "affinity"]], Field(min_length=1, max_length=1)
    ]


class NewServerGroupV215(Strict):
    name: Name
    policies: Annotated[
        list[Literal["anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity"]],
        Field(min_length=1, max_length=1),
    ]


class GroupRules(Strict):
    max_server_per_host: PositiveInt | None = None


class NewServerGroupV264(Strict):
    name: Name
    policy: Literal["anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity"]
    rules: GroupRules | None = None


class ServerGroupCreate(Strict):
    server_group: NewServerGroup


class ServerGroupCreateV215(Strict):
    server_group: NewServerGroupV215


class ServerGroupCreateV264(Strict):
    server_group: NewServerGroupV264


# --- aggregates -----------------------------------------------------------------------


class NewAggregate(Strict):
    name: Name
    availability_zone: ZoneName | None = None


class AggregateCreate(Strict):
    aggregate: NewAggregate


class AggregateChange(Strict):
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    availability_zone: ZoneName | None = None


class AggregateUpdate(Strict):
    aggregate: AggregateChange


class HostRef(Strict):
    host: HostName


class AddHost(Strict):
    add_host: HostRef


class RemoveHost(Strict):
    remove_host: HostRef


class MetadataRef(Strict):
    metadata: Annotated[dict[str, Any], metadata((str,), nullable=True)]


class SetMetadata(Strict):
    set_metadata: MetadataRef


class CachedImage(Strict):
    id: Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{32,36}$")]


class CacheImages(Strict):
    cache: Annotated[list[CachedImage], Field(min_length=1)]


# --- image proxy metadata (up to 2.38) -------------------------------------------------


class ImageMetadata(Strict):
    metadata: Annotated[dict[str, Any], metadata((str,))]


class ImageMetaItem(Strict):
    meta: Annotated[dict[str, Any], metadata((str,)), Field(min_length=1, max_length=1)]


# --- os-hosts (up to 2.42) -------------------------------------------------------------

OnOff = Literal["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]


class HostUpdate(Strict):
    """PUT /os-hosts/{host}: one of them at least (checked by the handler)."""

    status: OnOff | None = None
    maintenance_mode: OnOff | None = None


# --- os-services ----------------------------------------------------------------------


class ServiceAction(Strict):
    """PUT /os-services/{enable,disable,disable-log-reason} before 2.53."""

    host: HostName
    binary: Text255
    disabled_reason: Text255 | None = None


class ServiceActionV211(ServiceAction):
    forced_down: Boolean | None = None


class ServiceUpdateV253(Strict):
    """PUT /os-services/{uuid} from 2.53."""

    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: Text255 | None = None
    forced_down: Boolean | None = None


# --- quotas ---------------------------------------------------------------------------

#: A limit: -1 (unlimited) up to MAX_INT, as an integer or a string of one.
QuotaLimit = Annotated[StrictInt | str, _int_like(-1)]


@functools.cache
def quota_body(key: str, resources: tuple[str, ...], *, force: bool) -> type[Strict]:
    """The body of a quota (class) set update: ``{key: {resource: limit, ...}}`` with
    exactly `resources` allowed (they differ by microversion), and ``force`` for
    quota sets."""
    fields: dict[str, Any] = {name: (QuotaLimit | None, None) for name in resources}
    if force:
        fields["force"] = (Boolean | None, None)
    inner = create_model(f"{key}_values", __base__=Strict, **fields)
    return create_model(f"{key}_body", __base__=Strict, **{key: (inner, ...)})


# --- network proxies (security groups, floating IPs; deprecated at 2.36) ----------------
# Nova keeps ``additionalProperties: true`` on these bodies and never validated a
# rule's ports, protocol or CIDR (the proxy checks them as Nova's code does).


def _uuid(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}", value):
        raise ValueError(f"'{value}' is not a 'uuid'")
    return value


def _ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a 'ip-address'") from None
    return value


ProxyUuid = Annotated[str, AfterValidator(_uuid)]
IpAddress = Annotated[str, AfterValidator(_ip_address)]
GroupText = Annotated[str, Field(max_length=255)]


class NewSecurityGroup(Open):
    name: GroupText
    description: GroupText


class SecurityGroupBody(Open):
    """POST /os-security-groups and PUT /os-security-groups/{id}."""

    security_group: NewSecurityGroup


class NewSecurityGroupRule(Open):
    parent_group_id: ProxyUuid
    group_id: ProxyUuid | None = None
    ip_protocol: Any = None
    from_port: Any = None
    to_port: Any = None
    cidr: Any = None


class SecurityGroupRuleBody(Open):
    security_group_rule: NewSecurityGroupRule


class FloatingIpCreate(Open):
    pool: str | None = None


class FloatingIpAddress(Strict):
    """The body of addFloatingIp."""

    address: IpAddress
    fixed_address: IpAddress | None = None


class RemovedAddress(Strict):
    """The body of removeFloatingIp."""

    address: IpAddress
