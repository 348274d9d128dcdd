"""Key pairs, per user: /os-keypairs and /os-keypairs/{name}.

What changed by microversion: 2.2 adds ``type`` (ssh or x509) and answers 201/204
instead of 200/202; 2.10 lets an admin act for another user (``user_id`` in the body
or the query); 2.35 pages the list (``limit``/``marker``, a next link); 2.75 refuses
unknown query parameters; 2.92 stops generating keys (``public_key`` required) and
allows '@' and '.' in names.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.common.app import json_response
from nimbus.api.compute import schemas, views
from nimbus.api.compute.common import (
    at_least,
    authorize,
    caller,
    check_query,
    limit_of,
    newest,
    paged,
    parse,
    reading,
    writing,
)
from nimbus.compute import keypairs

RULE = "os_compute_api:os-keypairs"
_CREATE_SCHEMAS = (
    ("2.92", schemas.KeypairCreateV292),
    ("2.10", schemas.KeypairCreateV210),
    ("2.2", schemas.KeypairCreateV22),
    ("2.1", schemas.KeypairCreate),
)


def _owner(request: Request, rule: str, *, known: tuple[str, ...] = ("user_id",)) -> str:
    """The user whose key pairs are meant (the caller, or from 2.10 the ``user_id``
    query parameter), once the policy allows the caller to act for them."""
    check_query(request, known, strict=at_least(request, "2.75"))
    user_id = caller(request).user_id
    if at_least(request, "2.10"):
        user_id = request.query_params.get("user_id") or user_id
    authorize(request, rule, user_id=user_id)
    return user_id


async def list_keypairs(request: Request) -> Response:
    paging = at_least(request, "2.35")
    known = ("user_id", "limit", "marker") if paging else ("user_id",)
    user_id = _owner(request, f"{RULE}:index", known=known)
    limit = limit_of(request) if paging else None
    marker = request.query_params.get("marker") if paging else None
    async with reading(request) as session:
        rows = await keypairs.list_keypairs(session, user_id, limit=limit, marker=marker)
    items = [{"keypair": views.keypair(request, row, listing=True)} for row in rows]
    if limit is None:
        return json_response({"keypairs": items})
    body = paged(
        request,
        "keypairs",
        items,
        limit,
        path="os-keypairs",
        marker_of=lambda item: item["keypair"]["name"],
    )
    return json_response(body)


async def show_keypair(request: Request) -> Response:
    user_id = _owner(request, f"{RULE}:show")
    async with reading(request) as session:
        row = await keypairs.get(session, user_id, request.path_params["name"])
    return json_response({"keypair": views.keypair(request, row)})


async def create_keypair(request: Request) -> Response:
    """Import a public key, or (before 2.92) generate a pair and return its private
    key this once."""
    model = newest(request, _CREATE_SCHEMAS)
    body = (await parse(request, model)).keypair
    context = caller(request)
    user_id = getattr(body, "user_id", None) or context.user_id
    authorize(request, f"{RULE}:create", user_id=user_id)
    key_type = getattr(body, "type", keypairs.SSH)
    extra: dict[str, Any] = {}
    if body.public_key is None:
        generated = await asyncio.to_thread(keypairs.generate, key_type, user_id)
        public_key, fingerprint = generated.public_key, generated.fingerprint
        extra["private_key"] = generated.private_key
    else:
        public_key, fingerprint = body.public_key, keypairs.fingerprint(body.public_key, key_type)
    async with writing(request) as session:
        row = await keypairs.create(
            session,
            project_id=context.project_id or "",
            user_id=user_id,
            name=body.name,
            public_key=public_key,
            key_type=key_type,
            key_fingerprint=fingerprint,
        )
        shown = {**extra, **views.keypair(request, row, created=True)}
    return json_response({"keypair": shown}, status=201 if at_least(request, "2.2") else 200)


async def delete_keypair(request: Request) -> Response:
    user_id = _owner(request, f"{RULE}:delete")
    async with writing(request) as session:
        await keypairs.delete(session, user_id, request.path_params["name"])
    return Response(status_code=204 if at_least(request, "2.2") else 202)
