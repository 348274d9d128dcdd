"""/v3/users/{user_id}/application_credentials: a user's own delegated secrets."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content
from nimbus.api.common.body import parse
from nimbus.api.common.handler import authorize, base_url, caller, db
from nimbus.api.identity import views
from nimbus.api.identity.schemas import AppCredentialCreateBody
from nimbus.db.models.identity import ApplicationCredential
from nimbus.errors import Forbidden
from nimbus.identity import application_credentials as app_creds
from nimbus.identity import projects, users
from nimbus.identity.auth import Authenticator


async def _refuse_restricted(request: Request, session: AsyncSession) -> None:
    """A token made from a restricted application credential may not create or delete
    credentials, or one leaked credential could mint others (Keystone's rule)."""
    authenticator: Authenticator = request.app.state.authenticator
    data = authenticator.codec.open(caller(request).token)
    if data is None or data.app_cred_id is None:
        return
    source = await session.get(ApplicationCredential, data.app_cred_id)
    if source is None or not source.unrestricted:
        raise Forbidden(
            "You are not authorized to perform the requested action: Using method "
            "'application_credential' is not allowed for managing additional application "
            "credentials."
        )


async def create_application_credential(request: Request) -> Response:
    """Create a credential for the caller's project; its secret is shown this once."""
    body = (await parse(request, AppCredentialCreateBody)).application_credential
    user_id = request.path_params["user_id"]
    context = caller(request)
    authorize(request, "identity:create_application_credential", top={"user_id": user_id})
    if context.project_id is None:
        raise Forbidden(
            "You are not authorized to perform the requested action: "
            "identity:create_application_credential."
        )
    secret = body.secret or app_creds.new_secret()
    async with db(request).transaction() as session:
        await _refuse_restricted(request, session)
        project = await projects.get_project(session, context.project_id)
        requested = [(r.id, r.name) for r in body.roles or []]
        row = await app_creds.create(
            session,
            user_id=user_id,
            project=project,
            name=body.name,
            secret=secret,
            roles=await app_creds.choose_roles(session, requested, context.role_ids),
            description=body.description,
            expires_at=app_creds.parse_expiry(body.expires_at) if body.expires_at else None,
            unrestricted=bool(body.unrestricted),
        )
    body_out = views.application_credential(base_url(request), row, secret=secret)
    return json_response({"application_credential": body_out}, status=201)


async def list_application_credentials(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    async with db(request).reader() as session:
        await users.get_user(session, user_id)
        authorize(request, "identity:list_application_credentials", top={"user_id": user_id})
        rows = await app_creds.list_for_user(
            session, user_id, name=request.query_params.get("name")
        )
    base = base_url(request)
    items = [views.application_credential(base, row) for row in rows]
    return json_response(views.collection(base, request.url.path, "application_credentials", items))


async def _owned(session: AsyncSession, request: Request, rule: str) -> ApplicationCredential:
    """The credential of the URL, authorized against its real owner (not the URL's user).

    A credential of another user than the URL's is as missing as an unknown one.
    """
    user_id = request.path_params["user_id"]
    credential_id = request.path_params["application_credential_id"]
    credential = await session.get(ApplicationCredential, credential_id)
    owner = credential.user_id if credential else user_id
    authorize(request, rule, top={"user_id": owner})
    if credential is None or credential.user_id != user_id:
        raise app_creds.not_found(credential_id)
    return credential


async def show_application_credential(request: Request) -> Response:
    async with db(request).reader() as session:
        row = await _owned(session, request, "identity:get_application_credential")
    body = views.application_credential(base_url(request), row)
    return json_response({"application_credential": body})


async def delete_application_credential(request: Request) -> Response:
    async with db(request).transaction() as session:
        row = await _owned(session, request, "identity:delete_application_credential")
        await _refuse_restricted(request, session)
        await app_creds.delete(session, row)
    return no_content()
