"""Token middleware for every service: X-Auth-Token → RequestContext.

Each process validates tokens itself against the shared identity tables, so no
service makes an HTTP round trip to Keystone per request.
"""

from __future__ import annotations

from starlette.requests import Request

from nimbus.context import RequestContext
from nimbus.db import changes
from nimbus.db.models.identity import IDENTITY
from nimbus.errors import Unauthorized
from nimbus.identity.auth import Authenticator, ResolvedToken
from nimbus.placement import work


def context_from(resolved: ResolvedToken, request_id: str) -> RequestContext:
    """The request context that a validated token describes."""
    data = resolved.data
    project, domain = resolved.project, resolved.domain
    return RequestContext(
        request_id=request_id,
        user_id=resolved.user.id,
        user_name=resolved.user.name,
        user_domain_id=resolved.user_domain.id,
        user_domain_name=resolved.user_domain.name,
        project_id=project.id if project else None,
        project_name=project.name if project else None,
        project_domain_id=resolved.project_domain.id if resolved.project_domain else None,
        project_domain_name=resolved.project_domain.name if resolved.project_domain else None,
        domain_id=domain.id if domain else None,
        domain_name=domain.name if domain else None,
        system_scope="all" if data.scope.system else None,
        roles=tuple(role.name.lower() for role in resolved.roles),
        role_ids=tuple(role.id for role in resolved.roles),
        audit_ids=data.audit_ids,
        methods=data.methods,
        issued_at=data.issued_at,
        expires_at=data.expires_at,
        token=resolved.token,
    )


async def authenticate(request: Request) -> RequestContext:
    """Validate the caller's X-Auth-Token; any problem is the same plain 401."""
    token = request.headers.get("x-auth-token")
    if not token:
        raise Unauthorized()
    authenticator: Authenticator = request.app.state.authenticator
    db = request.app.state.db
    # A token seen before costs one read of the identity change counter (one hop to
    # the database's thread on SQLite); only a new or changed one opens a session.
    generation = await work.read(db, lambda connection: changes.current_in(connection, IDENTITY))
    resolved = authenticator.cached(token, generation)
    if resolved is None:
        async with db.reader() as session:
            resolved = await authenticator.validate(session, token, generation=generation)
    # Other tokens in this request (X-Subject-Token) are checked against the same reading.
    request.state.identity_generation = generation
    return context_from(resolved, request.state.request_id)
