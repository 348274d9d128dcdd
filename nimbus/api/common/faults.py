"""Error bodies in each service's upstream shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from nimbus.errors import NimbusError

#: Turns an error into the JSON body of its service's shape.
FaultRenderer = Callable[[NimbusError], dict[str, Any]]

#: The ASGI state of the request being answered (request id, microversion), for the
#: renderers whose bodies carry such details; a service's outermost middleware sets it
#: per request (see nimbus.api.common.microversion).
REQUEST_STATE: ContextVar[Mapping[str, Any]] = ContextVar(
    "request_state", default=MappingProxyType({})
)


def identity_fault(error: NimbusError) -> dict[str, Any]:
    """Keystone: {"error": {"code", "title", "message"}}."""
    return {"error": {"code": error.code, "title": error.title, "message": error.message}}


def image_fault(error: NimbusError) -> dict[str, Any]:
    """Glance: webob's JSON error body, {"message", "code": "404 Not Found", "title"},
    with webob's template around the message; a 401 comes from keystonemiddleware in
    front of Glance, so it has Keystone's shape."""
    if error.code == 401:
        return identity_fault(error)
    return {
        "message": f"{error.message}<br /><br />\n\n\n",
        "code": f"{error.code} {error.title}",
        "title": error.title,
    }


#: From this placement microversion on, error bodies carry a machine-readable `code`.
PLACEMENT_ERROR_CODES_SINCE = (1, 23)
PLACEMENT_DEFAULT_CODE = "placement.undefined_code"


def placement_fault(error: NimbusError) -> dict[str, Any]:
    """Placement (the API-SIG errors guideline): {"errors": [{"status", "title",
    "detail", "code", "request_id"}]}, `code` from microversion 1.23 on; a failed
    negotiation (406) names the range instead, as upstream does."""
    state = REQUEST_STATE.get()
    body: dict[str, Any] = {"status": error.code, "title": error.title, "detail": error.message}
    version = state.get("version")
    if version is not None and version >= PLACEMENT_ERROR_CODES_SINCE:
        body["code"] = error.error_code or PLACEMENT_DEFAULT_CODE
    if "request_id" in state:
        body["request_id"] = state["request_id"]
    versions = state.get("microversions")
    if error.code == 406 and version is None and versions is not None:
        body["max_version"] = str(versions.maximum)
        body["min_version"] = str(versions.minimum)
    return {"errors": [body]}


#: Nova's names for the error it answers with (nova.api.openstack.wsgi.Fault); any
#: other status is a "computeFault" (406 for an unserved microversion, 500...).
COMPUTE_FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def compute_fault(error: NimbusError) -> dict[str, Any]:
    """Nova: {"itemNotFound": {"code": 404, "message": ...}}; a 401 comes from
    keystonemiddleware in front of Nova, so it has Keystone's shape."""
    if error.code == 401:
        return identity_fault(error)
    name = COMPUTE_FAULT_NAMES.get(error.code, "computeFault")
    return {name: {"code": error.code, "message": error.message}}


#: The webob exception Neutron names an error after when no Neutron exception did.
NETWORK_FAULT_TYPES = {
    400: "HTTPBadRequest",
    403: "HTTPForbidden",
    404: "HTTPNotFound",
    405: "HTTPMethodNotAllowed",
    409: "HTTPConflict",
    413: "HTTPRequestEntityTooLarge",
    415: "HTTPUnsupportedMediaType",
    503: "HTTPServiceUnavailable",
}


def network_fault(error: NimbusError) -> dict[str, Any]:
    """Neutron: {"NeutronError": {"type": "NetworkNotFound", "message", "detail": ""}},
    the type being the upstream exception's name; a 401 comes from keystonemiddleware
    in front of Neutron, so it has Keystone's shape."""
    if error.code == 401:
        return identity_fault(error)
    kind = error.error_code or NETWORK_FAULT_TYPES.get(error.code, "HTTPInternalServerError")
    return {"NeutronError": {"type": kind, "message": error.message, "detail": ""}}
