"""POST /os-server-external-events: other services (with the `service` role) report
events about servers; see nimbus.compute.external_events for what becomes of them.

The answer lists each event with its verdict (`code`, `status`); it is a 200 when
every event was accepted, a 207 when some were not, and a 404 when none was.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.common.body import Strict
from nimbus.api.compute import common
from nimbus.api.compute.server_schemas import Uuid
from nimbus.compute import external_events
from nimbus.errors import BadRequest, NotFound

RULE = "os_compute_api:os-server-external-events:create"
#: Event names and the microversion that introduced each.
EVENTS_SINCE = {
    "network-changed": "2.1",
    "network-vif-plugged": "2.1",
    "network-vif-unplugged": "2.1",
    "network-vif-deleted": "2.1",
    "volume-extended": "2.51",
    "power-update": "2.76",
    "accelerator-request-bound": "2.82",
    "volume-reimaged": "2.93",
}


class Event(Strict):
    server_uuid: Uuid
    name: str
    status: Literal["failed", "completed", "in-progress"] = "completed"
    tag: Annotated[str, Field(max_length=255)] | None = None


class Events(Strict):
    events: Annotated[list[Event], Field(min_length=1)]


async def create_events(request: Request) -> Response:
    common.authorize(request, RULE)
    body = await common.parse(request, Events)
    for event in body.events:
        since = EVENTS_SINCE.get(event.name)
        if since is None or not common.at_least(request, since):
            raise BadRequest(f"Invalid input for field/attribute name. Value: {event.name}.")
    async with common.reading(request) as session:
        verdicts = await external_events.verdicts(
            session, list({event.server_uuid for event in body.events})
        )
    answered: list[dict[str, Any]] = []
    for event in body.events:
        code = verdicts[event.server_uuid]
        shown = event.model_dump(exclude_none=True)
        shown["code"] = code
        if code != external_events.ACCEPTED:
            shown["status"] = "failed"
        answered.append(shown)
    codes = {item["code"] for item in answered}
    if external_events.ACCEPTED not in codes:
        raise NotFound("No instances found for any event")
    return json_response({"events": answered}, 200 if codes == {200} else 207)
