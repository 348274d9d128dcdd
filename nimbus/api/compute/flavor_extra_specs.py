"""A flavor's extra specs: /flavors/{id}/os-extra_specs[/{key}].

Values may be sent as numbers and are kept as strings; from 2.86 each key and value
is validated (nimbus.compute.extra_specs). Readers of the flavor may list and show;
changes are for admins.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import schemas
from nimbus.api.compute.common import (
    at_least,
    authorize,
    body_of,
    parse,
    reading,
    validate,
    writing,
)
from nimbus.api.compute.flavors import viewer
from nimbus.compute import extra_specs, flavors
from nimbus.errors import BadRequest, NotFound

RULE = "os_compute_api:os-flavor-extra-specs"


def _checked(request: Request, specs: dict[str, Any]) -> dict[str, str]:
    """The specs as strings, each checked from 2.86 on (numbers too long are a 400
    whatever the version, as upstream measures their string)."""
    values = {key: value if isinstance(value, str) else str(value) for key, value in specs.items()}
    for key, value in values.items():
        if len(value) > 255:
            raise BadRequest(
                "Invalid input for extra_specs value: it must be at most 255 characters."
            )
        if at_least(request, "2.86"):
            extra_specs.validate(key, value)
    return values


async def list_specs(request: Request) -> Response:
    authorize(request, f"{RULE}:index")
    async with reading(request) as session:
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        return json_response({"extra_specs": await flavors.extra_specs(session, flavor)})


async def show_spec(request: Request) -> Response:
    authorize(request, f"{RULE}:show")
    key = request.path_params["key"]
    async with reading(request) as session:
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        specs = await flavors.extra_specs(session, flavor)
    if key not in specs:
        raise NotFound(f"Flavor {flavor.flavorid} has no extra specs with key {key}.")
    return json_response({key: specs[key]})


async def create_specs(request: Request) -> Response:
    """200 with the body as sent, as upstream answers."""
    authorize(request, f"{RULE}:create")
    specs = _checked(request, (await parse(request, schemas.ExtraSpecsCreate)).extra_specs)
    async with writing(request) as session:
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        await flavors.set_extra_specs(session, flavor, specs)
    return json_response(await body_of(request))


async def update_spec(request: Request) -> Response:
    """PUT …/os-extra_specs/{key} with exactly that one key in the body."""
    authorize(request, f"{RULE}:update")
    body = await body_of(request)
    if isinstance(body, dict) and len(body) > 1:
        raise BadRequest(
            f"Invalid input for field/attribute extra_specs. Value: {body}. "
            f"{body} has too many properties"
        )
    specs = _checked(request, validate(schemas.ExtraSpecsCreate, {"extra_specs": body}).extra_specs)
    if request.path_params["key"] not in specs:
        raise BadRequest("Request body and URI mismatch")
    async with writing(request) as session:
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        await flavors.set_extra_specs(session, flavor, specs)
    return json_response(body)


async def delete_spec(request: Request) -> Response:
    """200 with no body, as upstream answers."""
    authorize(request, f"{RULE}:delete")
    async with writing(request) as session:
        flavor = await flavors.get(session, request.path_params["flavor_id"], viewer(request))
        await flavors.delete_extra_spec(session, flavor, request.path_params["key"])
    return Response(status_code=200)
