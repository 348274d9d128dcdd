"""Validation of flavor extra specs, as Nova does it from microversion 2.86.

Nova registers a validator for every extra spec it knows, and refuses a key in a known
namespace that no validator matches. We keep the ones that matter to a cloud without
exotic hardware: placement requests (``resources*:``, ``trait*:``), the random number
generator, video RAM, secure boot, accelerators, and the common ``hw:`` CPU, NUMA,
memory and device keys. Namespaces where our table is complete refuse unknown keys
as upstream does; in the others (``hw:``, ``quota:``, ``capabilities:``,
``aggregate_instance_extra_specs:``, vendors') an unknown key passes, so that a valid
Nova key we do not list is never refused. Keys without a namespace always pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from nimbus.errors import BadRequest

_GROUP = r"([a-zA-Z0-9_-]{1,64})?"
_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}


def _failed(reason: str) -> BadRequest:
    return BadRequest(f"Validation failed; {reason}")


def _integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], None]:
    def check(value: str) -> None:
        try:
            number = int(value)
        except ValueError:
            raise _failed(f"'{value}' is not a valid integer value.") from None
        if maximum is not None and number > maximum:
            raise _failed(f"'{value}' is greater than the max value of '{maximum}'.")
        if minimum is not None and number < minimum:
            raise _failed(f"'{value}' is less than the min value of '{minimum}'.")

    return check


def _boolean(value: str) -> None:
    if value.strip().lower() not in _TRUE | _FALSE:
        raise _failed(f"'{value}' is not a valid boolean-like value.")


def _one_of(*choices: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if value not in choices:
            raise _failed(f"'{value}' is not one of: {', '.join(choices)}.")

    return check


def _pattern(regex: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if not re.fullmatch(regex, value):
            raise _failed(f"'{value}' is not of the format '{regex}'.")

    return check


def _anything(value: str) -> None:
    return None


@dataclass(frozen=True)
class Validator:
    name: str
    check: Callable[[str], None]

    def matches(self, key: str) -> bool:
        return re.fullmatch(self.name, key) is not None


VALIDATORS = (
    Validator(rf"resources{_GROUP}:[A-Z0-9_]+", _integer()),
    Validator(rf"trait{_GROUP}:[A-Z0-9_]+", _one_of("required", "forbidden")),
    Validator(r"hw_rng:allowed", _boolean),
    Validator(r"hw_rng:rate_bytes", _integer(0)),
    Validator(r"hw_rng:rate_period", _integer(0)),
    Validator(r"hw_video:ram_max_mb", _integer(0)),
    Validator(r"os:secure_boot", _one_of("disabled", "required")),
    Validator(r"accel:device_profile", _anything),
    Validator(r"hw:cpu_policy", _one_of("shared", "dedicated", "mixed")),
    Validator(r"hw:cpu_thread_policy", _one_of("prefer", "isolate", "require")),
    Validator(r"hw:emulator_threads_policy", _one_of("share", "isolate")),
    Validator(r"hw:cpu_(max_)?(sockets|cores|threads)", _integer(1)),
    Validator(r"hw:numa_nodes", _integer(1)),
    Validator(r"hw:numa_(cpus|mem)\.\d+", _pattern(r"[\d,^-]+")),
    Validator(r"hw:mem_page_size", _pattern(r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)")),
    Validator(r"hw:watchdog_action", _one_of("none", "pause", "poweroff", "reset", "disabled")),
    Validator(
        r"hw:(boot_menu|vif_multiqueue_enabled|pmu|hide_hypervisor_id|mem_encryption)",
        _boolean,
    ),
    Validator(r"hw:serial_port_count", _integer(0)),
    Validator(r"hw:tpm_version", _one_of("1.2", "2.0")),
    Validator(r"hw:tpm_model", _one_of("tpm-tis", "tpm-crb")),
)

#: Namespaces our table covers completely: other keys in them are refused.
CLOSED_NAMESPACES = re.compile(rf"(resources{_GROUP}|trait{_GROUP}|hw_rng|hw_video|os|accel)")


def validate(key: str, value: str) -> None:
    """Refuse (400, Nova's wording) a known key with a bad value, or an unknown key in
    a namespace we know completely."""
    for validator in VALIDATORS:
        if validator.matches(key):
            validator.check(value)
            return
    namespace, colon, _ = key.partition(":")
    if colon and CLOSED_NAMESPACES.fullmatch(namespace):
        raise _failed(f"extra spec '{key}' does not appear to be a valid extra spec.")
