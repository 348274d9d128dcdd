"""The reusable microversion machinery, for placement's range and a nova-like one."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from nimbus.api.common.microversion import Microversions, Version
from nimbus.errors import BadRequest, NotAcceptable

PLACEMENT = Microversions("placement", Version(1, 0), Version(1, 39))
COMPUTE = Microversions(
    "compute", Version(2, 1), Version(2, 96), legacy_headers=("x-openstack-nova-api-version",)
)


def negotiate(versions: Microversions, *pairs: tuple[str, str]) -> Version:
    """As an ASGI server hands headers over: names in lower case."""
    return versions.negotiate(Headers(raw=[(k.lower().encode(), v.encode()) for k, v in pairs]))


def test_versions_compare_with_each_other_and_with_tuples() -> None:
    assert Version.parse("1.14") > Version.parse("1.9")
    assert Version(1, 28) >= (1, 28)
    assert Version(1, 27) < (1, 28)
    assert str(Version(1, 5)) == "1.5"


@pytest.mark.parametrize("text", ["pony", "1", "1.", "1.2.3", "a.b", ""])
def test_malformed_versions_do_not_parse(text: str) -> None:
    with pytest.raises(ValueError):
        Version.parse(text)


def test_no_header_means_the_minimum_and_latest_the_maximum() -> None:
    assert negotiate(PLACEMENT) == (1, 0)
    assert negotiate(PLACEMENT, ("OpenStack-API-Version", "placement latest")) == (1, 39)
    assert negotiate(PLACEMENT, ("openstack-api-version", "PLACEMENT 1.20")) == (1, 20)


def test_the_last_value_for_this_service_wins() -> None:
    header = ("OpenStack-API-Version", "compute 2.1, placement 1.10, placement 1.12")
    assert negotiate(PLACEMENT, header) == (1, 12)
    two_headers = [("OpenStack-API-Version", "placement 1.2"), ("OpenStack-API-Version", "x 1")]
    assert negotiate(PLACEMENT, *two_headers) == (1, 2)


def test_other_services_versions_are_ignored() -> None:
    assert negotiate(PLACEMENT, ("OpenStack-API-Version", "compute 2.50")) == (1, 0)


def test_out_of_range_is_406_and_unparsable_400() -> None:
    with pytest.raises(NotAcceptable, match=r"Unacceptable version header: 1\.40"):
        negotiate(PLACEMENT, ("OpenStack-API-Version", "placement 1.40"))
    with pytest.raises(NotAcceptable):
        negotiate(PLACEMENT, ("OpenStack-API-Version", "placement 0.9"))
    with pytest.raises(BadRequest, match=r"invalid version string: 1\.2\.3"):
        negotiate(PLACEMENT, ("OpenStack-API-Version", "placement 1.2.3"))


def test_a_legacy_header_serves_when_the_standard_one_is_silent() -> None:
    assert negotiate(COMPUTE, ("X-OpenStack-Nova-API-Version", "2.60")) == (2, 60)
    both = [("X-OpenStack-Nova-API-Version", "2.60"), ("OpenStack-API-Version", "compute 2.70")]
    assert negotiate(COMPUTE, *both) == (2, 70)
    assert negotiate(COMPUTE) == (2, 1)


def test_responses_name_the_version_in_every_header_the_service_speaks() -> None:
    assert PLACEMENT.response_headers(Version(1, 39)) == [
        (b"openstack-api-version", b"placement 1.39"),
        (b"vary", b"openstack-api-version"),
    ]
    assert COMPUTE.response_headers(Version(2, 5)) == [
        (b"openstack-api-version", b"compute 2.5"),
        (b"x-openstack-nova-api-version", b"2.5"),
        (b"vary", b"openstack-api-version, x-openstack-nova-api-version"),
    ]
