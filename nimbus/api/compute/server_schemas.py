"""Request bodies of the servers family, with Nova's rules
(nova/api/openstack/compute/schemas/servers.py and friends).

One model per body holds every field any microversion accepts; `refuse_newer` then
refuses the fields the request's microversion does not know yet, with the words of
Nova's validator ("Additional properties are not allowed ('description' was
unexpected)"), which spares a model per version.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictInt

from nimbus.api.common.body import Strict
from nimbus.api.common.microversion import Version
from nimbus.api.compute.schemas import (
    Boolean,
    Description,
    Name,
    PositiveInt,
    ZoneName,
    metadata,
)
from nimbus.errors import BadRequest

#: user_data is at most this many characters of base64 (Nova's maxLength).
USER_DATA_MAX = 65535


def _format(name: str, parse: Callable[[str], object]) -> AfterValidator:
    """A string in jsonschema's `format` `name`, checked by `parse` (which raises
    ValueError on a bad value), refused in the validator's words."""

    def check(value: str | None) -> str | None:
        if value is None:
            return value
        try:
            parse(value)
        except (binascii.Error, ValueError):
            raise ValueError(f"'{value}' is not a '{name}'") from None
        return value

    return AfterValidator(check)


def _decode_base64(value: str) -> bytes:
    return base64.b64decode("".join(value.split()), validate=True)


def _tag(value: str) -> str:
    if "/" in value or "," in value:
        raise ValueError(f"'{value}' does not match '^[^,/]*$'")
    return value


def _flavor_ref(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


UserData = Annotated[str | None, Field(max_length=USER_DATA_MAX), _format("base64", _decode_base64)]
Uuid = Annotated[str, _format("uuid", uuid.UUID)]


def _compact(value: str | None) -> str | None:
    """An access address as Nova stores it: in its canonical text (Nova's IPAddress
    column type), so '0000:…:babe:220.12.22.2' reads back as '::babe:dc0c:1602'."""
    return None if value is None else str(ipaddress.ip_address(value))


IPv4 = Annotated[str, _format("ipv4", ipaddress.IPv4Address), AfterValidator(_compact)]
IPv6 = Annotated[str, _format("ipv6", ipaddress.IPv6Address), AfterValidator(_compact)]
Tag = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(_tag)]
FlavorRef = Annotated[str, BeforeValidator(_flavor_ref), Field(min_length=1, max_length=255)]
ImageRef = Annotated[str, Field(max_length=255)]
Metadata = Annotated[dict[str, Any], metadata((str,))]
AdminPass = Annotated[str, Field(max_length=255)]
#: A host name: a label of 2 to 63 characters up to 2.93, a FQDN of up to 255 from
#: 2.94 (see refuse_newer).
Hostname = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9-._]*$")]
_FQDN_SINCE = Version(2, 94)
DiskConfig = Literal["AUTO", "MANUAL"]


def auto_disk_config(value: DiskConfig | None) -> bool | None:
    """OS-DCF:diskConfig as the domain takes it (AUTO: True; None: not given)."""
    return None if value is None else value == "AUTO"


class Network(Strict):
    uuid: str | None = None
    port: Uuid | None = None
    fixed_ip: str | None = None
    tag: Tag | None = None


class SecurityGroup(Strict):
    name: Name


class NewServer(Strict):
    """POST /servers' ``server``; fields newer than 2.1 are checked by `refuse_newer`."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    name: Name
    imageRef: ImageRef | None = None
    flavorRef: FlavorRef
    adminPass: AdminPass | None = None
    metadata: Metadata | None = None
    networks: list[Network] | Literal["auto", "none"] | None = None
    disk_config: DiskConfig | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: IPv4 | None = None
    accessIPv6: IPv6 | None = None
    personality: list[dict[str, Any]] | None = None
    availability_zone: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    block_device_mapping: list[dict[str, Any]] | None = None
    block_device_mapping_v2: list[dict[str, Any]] | None = None
    config_drive: Boolean | None = None
    key_name: Name | None = None
    min_count: PositiveInt | None = None
    max_count: PositiveInt | None = None
    return_reservation_id: Boolean | None = None
    security_groups: list[SecurityGroup] | None = None
    user_data: UserData = None
    description: Description = None
    tags: Annotated[list[Tag], Field(max_length=50)] | None = None
    trusted_image_certificates: list[str] | None = None
    host: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    hypervisor_hostname: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    hostname: Hostname | None = None


class Hints(Strict):
    """Scheduler hints: the known ones checked, any others kept (Nova allows them)."""

    model_config = ConfigDict(extra="allow", strict=True)

    group: Uuid | list[Uuid] | None = None
    same_host: Uuid | list[Uuid] | None = None
    different_host: Uuid | list[Uuid] | None = None


class ServerCreate(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    server: NewServer
    hints: Hints | None = Field(None, alias="os:scheduler_hints")
    legacy_hints: Hints | None = Field(None, alias="OS-SCH-HNT:scheduler_hints")


#: When each field of a create (and rebuild, update) body appeared; before that
#: version it is an unexpected property.
CREATE_FIELDS_SINCE = {
    "description": "2.19",
    "tags": "2.52",
    "trusted_image_certificates": "2.63",
    "host": "2.74",
    "hypervisor_hostname": "2.74",
    "hostname": "2.90",
}
#: Fields a microversion removed (personality from 2.57).
CREATE_FIELDS_UNTIL = {"personality": "2.56"}


def refuse_newer(
    given: dict[str, Any],
    version: Version,
    since: dict[str, str],
    until: dict[str, str] | None = None,
) -> None:
    """400 for a field the request's microversion does not have, or for a host name
    longer or shorter than a label before 2.94."""
    for name in given:
        first = since.get(name)
        last = (until or {}).get(name)
        if (first and version < Version.parse(first)) or (last and version > Version.parse(last)):
            raise BadRequest(f"Additional properties are not allowed ('{name}' was unexpected)")
    hostname = given.get("hostname")
    if isinstance(hostname, str) and version < _FQDN_SINCE and not 2 <= len(hostname) <= 63:
        bound = "at most 63" if len(hostname) > 63 else "at least 2"
        raise BadRequest(
            f"Invalid input for field/attribute hostname. Value: {hostname}. "
            f"String should have {bound} characters"
        )


class ServerChange(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    name: Name | None = None
    accessIPv4: IPv4 | None = None
    accessIPv6: IPv6 | None = None
    disk_config: DiskConfig | None = Field(None, alias="OS-DCF:diskConfig")
    description: Description = None
    hostname: Hostname | None = None
    pinned_availability_zone: ZoneName | None = None


class ServerUpdate(Strict):
    server: ServerChange


UPDATE_FIELDS_SINCE = {
    "description": "2.19",
    "hostname": "2.90",
    "pinned_availability_zone": "2.104",
}

# --- actions ---------------------------------------------------------------------------


class Reboot(Strict):
    type: Literal["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]


class Resize(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    flavorRef: FlavorRef
    disk_config: DiskConfig | None = Field(None, alias="OS-DCF:diskConfig")


class Rebuild(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    imageRef: ImageRef
    name: Name | None = None
    adminPass: AdminPass | None = None
    metadata: Metadata | None = None
    preserve_ephemeral: Boolean | None = None
    disk_config: DiskConfig | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: IPv4 | None = None
    accessIPv6: IPv6 | None = None
    personality: list[dict[str, Any]] | None = None
    description: Description = None
    key_name: Name | None = None
    user_data: UserData = None
    trusted_image_certificates: list[str] | None = None
    hostname: Hostname | None = None


REBUILD_FIELDS_SINCE = {
    "description": "2.19",
    "key_name": "2.54",
    "user_data": "2.57",
    "trusted_image_certificates": "2.63",
    "hostname": "2.90",
}


class CreateImage(Strict):
    name: Name
    metadata: Metadata | None = None


class ConsoleOutput(Strict):
    length: StrictInt | Annotated[str, Field(pattern=r"^-?[0-9]+$")] | None = None


class ResetState(Strict):
    state: Literal["active", "error"]


class Lock(Strict):
    locked_reason: Annotated[str, Field(max_length=255)] | None = None
