"""GET /allocation_candidates (1.10): parse the request groups, search, render.

The query string grew by microversion: ``limit`` (1.16), ``required`` (1.17),
``member_of`` (1.21), suffixed groups ``resourcesN``/``requiredN``/``member_ofN`` with
``group_policy`` (1.25), ``in_tree[N]`` (1.31), string suffixes (1.33),
``root_required`` (1.35), ``same_subtree`` (1.36, refused here: docs/placement.md).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from nimbus.api.placement import query, views
from nimbus.api.placement.common import authorize, db, respond, unexpected, version
from nimbus.errors import BadRequest
from nimbus.placement import candidates
from nimbus.placement.errors import QUERY_BAD_VALUE, QUERY_DUPLICATE_KEY, QUERY_MISSING_VALUE

_NUMBERED = re.compile(r"^(resources|required|member_of|in_tree)([1-9][0-9]*)?$")
_NAMED = re.compile(r"^(resources|required|member_of|in_tree)([a-zA-Z0-9_-]{1,64})?$")
_LIMIT = re.compile(r"^[1-9][0-9]*$")


def _allowed(request: Request) -> tuple[set[str], re.Pattern[str] | None]:
    """Plain parameter names the version accepts, and the group-key pattern if any."""
    current = version(request)
    plain = {"resources"}
    for since, name in (((1, 16), "limit"), ((1, 17), "required"), ((1, 21), "member_of")):
        if current >= since:
            plain.add(name)
    if current < (1, 25):
        return plain, None
    plain = {"limit", "group_policy"}
    for since, name in (((1, 35), "root_required"), ((1, 36), "same_subtree")):
        if current >= since:
            plain.add(name)
    return plain, _NAMED if current >= (1, 33) else _NUMBERED


def _check_parameters(request: Request) -> re.Pattern[str] | None:
    """Refuse parameters the version lacks; the group-key pattern, from 1.25."""
    plain, groups = _allowed(request)
    for name in request.query_params:
        matched = groups.match(name) if groups and name not in plain else None
        if matched and matched.group(1) == "in_tree" and version(request) < (1, 31):
            matched = None
        if name not in plain and not matched:
            raise unexpected(name)
    if groups is None and "resources" not in request.query_params:
        raise BadRequest("Invalid query string parameters: 'resources' is a required property")
    return groups


def _group(request: Request, suffix: str) -> candidates.Group:
    params = request.query_params
    group = candidates.Group(suffix=suffix)
    if f"resources{suffix}" in params:
        group.resources = query.resources(params[f"resources{suffix}"])
    if f"required{suffix}" in params:
        traits = query.traits(request, f"required{suffix}")
        group.required, group.forbidden = traits.required, traits.forbidden
    if f"member_of{suffix}" in params:
        aggregates = query.member_of(request, suffix)
        group.member_of, group.forbidden_aggregates = aggregates.member_of, aggregates.forbidden
    if f"in_tree{suffix}" in params:
        group.in_tree = query.in_tree(params[f"in_tree{suffix}"])
    return group


def _orphaned(group: candidates.Group, kind: str) -> bool:
    """A group with traits or aggregates but nothing to allocate."""
    if group.resources:
        return False
    if kind == "required":
        return bool(group.required or group.forbidden)
    return bool(group.member_of or group.forbidden_aggregates)


def _groups(request: Request, pattern: re.Pattern[str] | None) -> list[candidates.Group]:
    suffixes = {""}
    if pattern is not None:
        suffixes = {m.group(2) or "" for n in request.query_params if (m := pattern.match(n))}
    groups = [_group(request, suffix) for suffix in sorted(suffixes)]
    for kind, what in (("required", "traits"), ("member_of", "member_of")):
        if orphans := [f"{kind}{g.suffix}" for g in groups if _orphaned(g, kind)]:
            raise BadRequest(
                f"All {what} parameters must be associated with resources.  Found the "
                f"following orphaned {what} keys: {', '.join(orphans)}"
            )
    if not groups or not all(g.resources for g in groups):
        raise BadRequest(
            "There must be at least one resources or resources[$S] parameter.",
            error_code=QUERY_MISSING_VALUE,
        )
    clashes = [
        f"required{g.suffix}: ({clash})"
        for g in groups
        for clash in query.conflicting(query.Traits(g.required, g.forbidden))
    ]
    if clashes:
        raise BadRequest(
            "Conflicting required and forbidden traits found in the following traits keys: "
            + ", ".join(sorted(clashes))
        )
    return groups


def _root_required(request: Request, wanted: candidates.Request) -> None:
    """1.35: traits the root of each candidate's tree must (not) have; once only."""
    values = request.query_params.getlist("root_required")
    if not values:
        return
    if len(values) > 1:
        raise BadRequest(
            "Query parameter 'root_required' may be specified only once.",
            error_code=QUERY_DUPLICATE_KEY,
        )
    traits = query.traits(request, "root_required")
    if clashes := query.conflicting(traits):
        raise BadRequest(
            "Conflicting required and forbidden traits found in root_required: "
            + ", ".join(clashes),
            error_code=QUERY_BAD_VALUE,
        )
    wanted.root_required, wanted.root_forbidden = traits.required, traits.forbidden


def _request(request: Request) -> candidates.Request:
    params = request.query_params
    groups = _groups(request, _check_parameters(request))
    wanted = candidates.Request(groups=groups, nested=version(request) >= (1, 29))
    if "limit" in params:
        if not _LIMIT.match(params["limit"]):
            raise BadRequest(
                f"Invalid query string parameters: '{params['limit']}' does not match "
                f"'{_LIMIT.pattern}'"
            )
        wanted.limit = int(params["limit"])
    policy = params.get("group_policy")
    if policy is not None and policy not in ("none", "isolate"):
        raise BadRequest(
            f"Invalid query string parameters: '{policy}' is not one of ['none', 'isolate']"
        )
    if policy is None and sum(1 for g in groups if g.single_provider) > 1:
        raise BadRequest(
            'The "group_policy" parameter is required when specifying more than one '
            '"resources{N}" parameter.'
        )
    wanted.isolate = policy == "isolate"
    _root_required(request, wanted)
    if "same_subtree" in params:
        raise BadRequest(
            "The same_subtree parameter is not supported by this placement service.",
            error_code=QUERY_BAD_VALUE,
        )
    return wanted


async def list_candidates(request: Request) -> Response:
    authorize(request, "placement:allocation_candidates:list")
    wanted = _request(request)
    result = await candidates.search(db(request), wanted)
    return respond(request, views.candidates(result, version(request)))
