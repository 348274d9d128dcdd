"""POST/GET/HEAD/DELETE /v3/auth/tokens and the /v3/auth/* listings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response, no_content, public
from nimbus.api.common.body import Strict, parse
from nimbus.api.common.handler import authorize, base_url, caller, db, query_bool
from nimbus.api.identity import views
from nimbus.errors import NotFound, Unauthorized
from nimbus.identity import assignments, catalog
from nimbus.identity.auth import Authenticator, Credentials, ResolvedToken, ScopeRequest, UserRef
from nimbus.identity.projects import tags_of


class DomainRef(Strict):
    id: str | None = None
    name: str | None = None


class UserIn(Strict):
    id: str | None = None
    name: str | None = None
    domain: DomainRef | None = None
    password: str | None = None


class PasswordIn(Strict):
    user: UserIn


class TokenIn(Strict):
    id: str


class AppCredentialIn(Strict):
    id: str | None = None
    name: str | None = None
    secret: str
    user: UserIn | None = None


class Identity(Strict):
    methods: list[Literal["password", "token", "application_credential"]] = Field(min_length=1)
    password: PasswordIn | None = None
    token: TokenIn | None = None
    application_credential: AppCredentialIn | None = None


class ProjectRef(Strict):
    id: str | None = None
    name: str | None = None
    domain: DomainRef | None = None


class SystemRef(Strict):
    all: bool


class ScopeIn(Strict):
    project: ProjectRef | None = None
    domain: DomainRef | None = None
    system: SystemRef | None = None


class Auth(Strict):
    identity: Identity
    scope: ScopeIn | Literal["unscoped"] | None = None


class AuthBody(Strict):
    auth: Auth


def _user_ref(user: UserIn | None) -> UserRef:
    if user is None or not (user.id or (user.name and user.domain)):
        raise Unauthorized()
    domain = user.domain or DomainRef()
    return UserRef(id=user.id, name=user.name, domain_id=domain.id, domain_name=domain.name)


def _credentials(identity: Identity) -> Credentials:
    """The identity section as the domain layer takes it; a named method must be there."""
    methods = tuple(dict.fromkeys(identity.methods))
    fields: dict[str, Any] = {"methods": methods}
    if "password" in methods:
        if identity.password is None or identity.password.user.password is None:
            raise Unauthorized()
        fields["password_user"] = _user_ref(identity.password.user)
        fields["password"] = identity.password.user.password
    if "token" in methods:
        if identity.token is None:
            raise Unauthorized()
        fields["token"] = identity.token.id
    if "application_credential" in methods:
        app = identity.application_credential
        if app is None or not (app.id or (app.name and app.user)):
            raise Unauthorized()
        fields["app_cred_id"] = app.id
        fields["app_cred_name"] = app.name
        fields["app_cred_user"] = _user_ref(app.user) if app.user else None
        fields["app_cred_secret"] = app.secret
    return Credentials(**fields)


def _scope(scope: ScopeIn | Literal["unscoped"] | None) -> ScopeRequest | None:
    if scope is None:
        return None
    if scope == "unscoped":
        return ScopeRequest(unscoped=True)
    if scope.project is not None:
        project = scope.project
        domain = project.domain or DomainRef()
        if not project.id and not (project.name and (domain.id or domain.name)):
            raise Unauthorized()
        return ScopeRequest(
            project_id=project.id,
            project_name=project.name,
            project_domain_id=domain.id,
            project_domain_name=domain.name,
        )
    if scope.domain is not None:
        if not (scope.domain.id or scope.domain.name):
            raise Unauthorized()
        return ScopeRequest(domain_id=scope.domain.id, domain_name=scope.domain.name)
    if scope.system is not None and scope.system.all:
        return ScopeRequest(system=True)
    return ScopeRequest(unscoped=True)


def _authenticator(request: Request) -> Authenticator:
    return request.app.state.authenticator


async def _token_response(
    request: Request, resolved: ResolvedToken, status: int, head: bool = False
) -> Response:
    headers = {"X-Subject-Token": resolved.token}
    if head:
        return Response(status_code=status, headers=headers)
    entries = None
    if "nocatalog" not in request.query_params:
        async with db(request).reader() as session:
            entries = await catalog.build(session)
    return json_response(views.token(resolved, entries), status=status, headers=headers)


@public
async def issue_token(request: Request) -> Response:
    body = await parse(request, AuthBody)
    creds = _credentials(body.auth.identity)
    scope = _scope(body.auth.scope)
    async with db(request).transaction() as session:
        resolved = await _authenticator(request).issue(session, creds, scope)
    return await _token_response(request, resolved, 201)


async def _subject(request: Request) -> ResolvedToken:
    """The token named by X-Subject-Token; an invalid one is a 404, as upstream."""
    token = request.headers.get("x-subject-token")
    if not token:
        raise NotFound("Could not find token: (none).")
    allow_expired = bool(query_bool(request, "allow_expired"))
    authenticator = _authenticator(request)
    generation = request.state.identity_generation
    try:
        resolved = authenticator.cached(token, generation, allow_expired=allow_expired)
        if resolved is None:
            async with db(request).reader() as session:
                resolved = await authenticator.validate(
                    session, token, allow_expired=allow_expired, generation=generation
                )
    except Unauthorized:
        raise NotFound(f"Could not find token: {token}.") from None
    return resolved


async def validate_token(request: Request) -> Response:
    subject = await _subject(request)
    authorize(request, "identity:validate_token", token={"user_id": subject.user.id})
    return await _token_response(request, subject, 200)


async def check_token(request: Request) -> Response:
    subject = await _subject(request)
    authorize(request, "identity:check_token", token={"user_id": subject.user.id})
    return await _token_response(request, subject, 200, head=True)


async def revoke_token(request: Request) -> Response:
    subject = await _subject(request)
    authorize(request, "identity:revoke_token", token={"user_id": subject.user.id})
    async with db(request).transaction() as session:
        await _authenticator(request).revoke(session, subject)
    return no_content()


async def auth_catalog(request: Request) -> Response:
    authorize(request, "identity:get_auth_catalog")
    context = caller(request)
    if not (context.system_scope or context.project_id or context.domain_id):
        raise Unauthorized("An unscoped token has no catalog.")
    async with db(request).reader() as session:
        entries = await catalog.build(session)
    return json_response(
        {"catalog": entries, "links": {"self": f"{base_url(request)}/v3/auth/catalog"}}
    )


async def auth_projects(request: Request) -> Response:
    authorize(request, "identity:get_auth_projects")
    base = base_url(request)
    async with db(request).reader() as session:
        rows = [
            p
            for p in await assignments.projects_of_user(session, caller(request).user_id)
            if p.enabled
        ]
        tags = await tags_of(session, [p.id for p in rows])
    items = [views.project(base, p, tags[p.id]) for p in rows]
    return json_response(views.collection(base, "/v3/auth/projects", "projects", items))


async def auth_domains(request: Request) -> Response:
    authorize(request, "identity:get_auth_domains")
    base = base_url(request)
    async with db(request).reader() as session:
        rows = [
            d
            for d in await assignments.domains_of_user(session, caller(request).user_id)
            if d.enabled
        ]
        tags = await tags_of(session, [d.id for d in rows])
    items = [views.domain(base, d, tags[d.id]) for d in rows]
    return json_response(views.collection(base, "/v3/auth/domains", "domains", items))


async def auth_system(request: Request) -> Response:
    authorize(request, "identity:get_auth_system")
    async with db(request).reader() as session:
        roles = await assignments.effective_role_ids(session, caller(request).user_id, system=True)
    system = [{"all": True}] if roles else []
    return json_response(
        {"system": system, "links": {"self": f"{base_url(request)}/v3/auth/system"}}
    )
