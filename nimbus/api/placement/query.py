"""Placement's query-string mini-languages, parsed and checked as upstream does.

- ``resources=VCPU:2,MEMORY_MB:1024``
- ``required=A,!B`` (forbidden ``!`` from 1.22), ``required=in:A,B`` (any of, from
  1.39, when the parameter may also repeat)
- ``member_of=<agg>``, ``member_of=in:<a>,<b>``, ``!<agg>`` / ``!in:...`` (1.32), the
  parameter repeated (1.24)
- ``in_tree=<provider uuid>``
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from nimbus.api.placement.common import is_uuid, normal_uuid, version
from nimbus.errors import BadRequest

_RESOURCES_FORM = (
    "Badly formed resources parameter. Expected resources query string parameter "
    "in form: ?resources=VCPU:2,MEMORY_MB:1024."
)


def resources(value: str) -> dict[str, int]:
    """``VCPU:2,MEMORY_MB:1024`` → {"VCPU": 2, "MEMORY_MB": 1024}."""
    if not value.strip():
        raise BadRequest(f"{_RESOURCES_FORM} Got: empty string.")
    result = {}
    for item in value.split(","):
        name, colon, amount = item.partition(":")
        if not colon or ":" in amount:
            raise BadRequest(f"{_RESOURCES_FORM} Got: {item}.")
        try:
            number = int(amount)
        except ValueError:
            raise BadRequest(
                f"Requested resource {name} expected positive integer amount. Got: {amount}."
            ) from None
        if number < 1:
            raise BadRequest(f"Requested resource {name} requires amount >= 1. Got: {number}.")
        result[name] = number
    return result


@dataclass
class Traits:
    required: list[set[str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)


def _one_trait_value(value: str, allow_forbidden: bool, allow_any: bool, into: Traits) -> None:
    if value.startswith("in:"):
        if not allow_any:
            raise BadRequest(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"only supported since microversion 1.39. Got: {value}"
            )
        any_of = {name.strip() for name in value[3:].split(",")}
        if not all(any_of):
            raise BadRequest(
                "Invalid query string parameters: Expected 'required' parameter value of "
                f"the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {value}"
            )
        if any(name.startswith("!") for name in any_of):
            raise BadRequest(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"does not support forbidden traits. Got: {value}"
            )
        into.required.append(any_of)
        return
    names = [name.strip() for name in value.split(",")]
    forbidden = {name.lstrip("!") for name in names if name.startswith("!")}
    form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
    if not all(names) or not all(forbidden):
        raise BadRequest(
            "Invalid query string parameters: Expected 'required' parameter value of the "
            f"form: {form}. Got an empty trait in: {value}"
        )
    if forbidden and not allow_forbidden:
        raise BadRequest(
            "Invalid query string parameters: Expected 'required' parameter value of the "
            f"form: {form}. Got: {value}"
        )
    into.required += [{name} for name in names if not name.startswith("!")]
    into.forbidden |= forbidden


def traits(request: Request, key: str = "required") -> Traits:
    """All ``key`` parameters (only the last one before 1.39) as required/forbidden."""
    values = request.query_params.getlist(key)
    allow_any = version(request) >= (1, 39)
    if not allow_any:
        values = values[-1:]
    parsed = Traits()
    for value in values:
        _one_trait_value(value, version(request) >= (1, 22), allow_any, parsed)
    return parsed


def conflicting(parsed: Traits) -> list[str]:
    """Any-of sets whose every member is also forbidden (such a request cannot match)."""
    return [", ".join(sorted(any_of)) for any_of in parsed.required if any_of <= parsed.forbidden]


@dataclass
class Aggregates:
    member_of: list[set[str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)


def _one_member_of(value: str, into: Aggregates, allow_forbidden: bool, suffix: str) -> None:
    if "," in value and not value.startswith(("in:", "!in:")):
        raise BadRequest(
            "Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' "
            f"keyword using the valid microversion. Got: {value}"
        )
    negated = value.startswith("!")
    body = value[1:] if negated else value
    uuids = set(body[3:].split(",")) if body.startswith("in:") else {body}
    for aggregate in uuids:
        if not is_uuid(aggregate):
            raise BadRequest(
                "Invalid query string parameters: Expected 'member_of' parameter to contain "
                f"valid UUID(s). Got: {aggregate}"
            )
    if not negated:
        into.member_of.append(uuids)
        return
    if not allow_forbidden:
        raise BadRequest(
            f"Forbidden member_of{suffix} parameters are not supported in the specified "
            "microversion"
        )
    into.forbidden |= uuids


def member_of(request: Request, suffix: str = "") -> Aggregates:
    """All ``member_of{suffix}`` parameters, checked against the microversion."""
    values = request.query_params.getlist(f"member_of{suffix}")
    if len(values) > 1 and version(request) < (1, 24):
        raise BadRequest(f"Multiple member_of{suffix} parameters are not supported")
    parsed = Aggregates()
    for value in values:
        _one_member_of(value, parsed, version(request) >= (1, 32), suffix)
    return parsed


def in_tree(value: str) -> str:
    """A provider UUID, in the dashed spelling providers are stored with."""
    if not is_uuid(value.strip()):
        raise BadRequest(
            "Invalid query string parameters: Expected 'in_tree' parameter to be a format "
            f"of uuid. Got: {value}"
        )
    return normal_uuid(value.strip())
