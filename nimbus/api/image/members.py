"""Handlers of /v2/images/{id}/members: sharing an image with other projects.

Every member operation first needs the image to be visible (and get_image allowed),
then its own rule: the owner adds and removes members, the member sets its status,
both may read (see policies.py).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import parse
from nimbus.api.common.handler import db
from nimbus.api.image import access
from nimbus.api.image.schemas import MemberCreate, MemberUpdate
from nimbus.api.image.views import member_view, members_view
from nimbus.db.models.image import ImageMember
from nimbus.errors import Forbidden, NotFound
from nimbus.image import members


async def list_members(request: Request) -> Response:
    async with db(request).reader() as session:
        image = await access.load(request, session)
        members.check_shared(image)
        access.enforce(request, "get_members", image)
        found = await members.list_members(session, image, access.viewer(request))
    return json_response(members_view(found))


async def create_member(request: Request) -> Response:
    body = await parse(request, MemberCreate)
    async with db(request).transaction() as session:
        image = await access.load(request, session)
        members.check_shared(image)
        access.enforce(request, "add_member", image)
        member = await members.add_member(session, image, body.member)
    return json_response(member_view(member))


async def show_member(request: Request) -> Response:
    """A member that is not there, or not for the caller's eyes, is a 404 either way."""
    async with db(request).reader() as session:
        image = await access.load(request, session)
        try:
            access.enforce(request, "get_member", image)
            member = await members.get_member(
                session, image, request.path_params["member_id"], access.viewer(request)
            )
        except Forbidden as error:
            raise NotFound(error.message) from None
    return json_response(member_view(member))


async def _member(request: Request, session: AsyncSession, rule: str) -> ImageMember:
    """The member of the URL, as far as the caller may see it, once `rule` allows."""
    image = await access.load(request, session)
    members.check_shared(image)
    member = await members.get_member(
        session, image, request.path_params["member_id"], access.viewer(request)
    )
    access.enforce(request, rule, image)
    return member


async def update_member(request: Request) -> Response:
    body = await parse(request, MemberUpdate)
    async with db(request).transaction() as session:
        member = await _member(request, session, "modify_member")
        members.set_status(member, body.status)
    return json_response(member_view(member))


async def delete_member(request: Request) -> Response:
    async with db(request).transaction() as session:
        await members.remove_member(session, await _member(request, session, "delete_member"))
    return no_content()
