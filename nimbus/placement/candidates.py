"""Allocation candidates: every way a request could be satisfied right now.

A request has request groups: the unnumbered one (its resources may come from several
providers of one tree) and suffixed ones (each satisfied by a single provider). A
candidate places every group in one provider tree, respecting traits, aggregates,
``in_tree``, ``root_required`` and ``group_policy=isolate``, with every amount fitting.

The search is set-based, so that it stays fast over tens of thousands of providers,
and pages through trees in order, a page being as large as the limit:

1. SQL picks the page's roots: trees in which every group could be satisfied on its
   own (correlated EXISTS per class, answered from the (provider, class) indexes,
   capacity minus usage computed in the query), so a search with a limit looks at
   about as many trees as it returns;
2. the same query returns every provider of those trees with each inventory, its
   usage and, per group, whether the provider passes the group's own filters;
3. Python decides what fits and combines each tree's few offers (one provider per
   class or per group), checking what rows cannot: amounts of several groups on one
   provider, traits the unnumbered group must hold collectively, isolation;
4. the same rows make the provider summaries; one more query adds their traits.

Sharing providers (``MISC_SHARES_VIA_AGGREGATE``) are not considered: every candidate
comes from a single tree. docs/placement.md lists that and the other deviations.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Subquery, and_, exists, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import AliasedClass

from nimbus.db.models.placement import Inventory, ProviderTrait, ResourceClass, ResourceProvider
from nimbus.placement import capacity, filters, resource_classes, traits

#: Trees examined per round when the request sets no limit.
BATCH = 2000


@dataclass
class Group:
    """One request group, with names as the client gave them."""

    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    required: list[set[str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    member_of: list[set[str]] = field(default_factory=list)
    forbidden_aggregates: set[str] = field(default_factory=set)
    in_tree: str | None = None

    @property
    def single_provider(self) -> bool:
        """Suffixed groups are satisfied by one provider; the unnumbered one need not be."""
        return self.suffix != ""


@dataclass
class Request:
    groups: list[Group]
    limit: int | None = None
    isolate: bool = False
    root_required: list[set[str]] = field(default_factory=list)
    root_forbidden: set[str] = field(default_factory=set)
    #: From 1.29 a candidate may use several providers of a tree; before, only one.
    nested: bool = True


@dataclass
class Candidate:
    #: provider id → class id → amount
    allocations: dict[int, dict[int, int]]
    #: group suffix → provider ids that satisfy it
    mappings: dict[str, list[int]]


@dataclass
class Summary:
    uuid: str
    parent_uuid: str | None
    root_uuid: str
    #: class name → (capacity, used)
    resources: dict[str, tuple[int, int]]
    traits: list[str]


@dataclass
class Result:
    candidates: list[Candidate]
    summaries: list[Summary]
    uuids: dict[int, str]
    class_names: dict[int, str]
    requested_classes: set[str]


@dataclass
class _Ids:
    """A group with names resolved to ids."""

    group: Group
    resources: dict[int, int]
    required: list[set[int]]
    forbidden: set[int]


@dataclass
class _Tree:
    """What one tree offers the request: per group, the usable providers."""

    #: unnumbered group: class id → provider ids; suffixed: provider ids
    choices: dict[str, dict[int, list[int]] | list[int]] = field(default_factory=dict)


async def _resolve(session: AsyncSession, request: Request) -> tuple[list[_Ids], dict, _Ids]:
    """The groups with ids for names, the class ids, and the root's traits (as a group)."""
    class_names = {name for g in request.groups for name in g.resources}
    class_ids = await resource_classes.ids_for_query(session, class_names)
    resolved = []
    for g in request.groups:
        required, forbidden = await traits.resolve(session, g.required, g.forbidden)
        amounts = {class_ids[n]: amount for n, amount in g.resources.items()}
        resolved.append(_Ids(g, amounts, required, forbidden))
    root = Group(required=request.root_required, forbidden=request.root_forbidden)
    required, forbidden = await traits.resolve(session, root.required, root.forbidden)
    return resolved, class_ids, _Ids(root, {}, required, forbidden)


Member = AliasedClass[ResourceProvider]


def _member_of(member: Member, group: Group) -> list[ColumnElement[bool]]:
    """Aggregates on a provider's root span its whole tree, as upstream treats them."""
    itself_or_root = (member.id, member.root_provider_id)
    return [
        *filters.in_aggregates(itself_or_root, group.member_of),
        *filters.outside_aggregates(itself_or_root, group.forbidden_aggregates),
    ]


def _provider_conditions(ids: _Ids, member: Member) -> list[ColumnElement[bool]]:
    """What each provider serving the group must satisfy on its own."""
    conditions = [*_member_of(member, ids.group), *filters.without_traits(member.id, ids.forbidden)]
    if ids.group.single_provider:
        conditions += filters.with_traits(member.id, ids.required)
    return conditions


def _fits(member: Member, class_id: int, amount: int) -> ColumnElement[bool]:
    """The member's inventory of `class_id` can take `amount` (Inventory in scope)."""
    return and_(
        Inventory.resource_provider_id == member.id,
        Inventory.resource_class_id == class_id,
        capacity.fits(amount),
    )


def _satisfiable(ids: _Ids, root: ColumnElement[int]) -> list[ColumnElement[bool]]:
    """Conditions on a root: the group could be satisfied in its tree on its own.

    Correlated EXISTS per class, answered from indexes, so that a search with a limit
    stops after checking about as many trees as it returns.
    """
    member = aliased(ResourceProvider, name="member")
    in_tree = [member.root_provider_id == root, *_provider_conditions(ids, member)]
    # One table per (nested) EXISTS, so that every database walks member → inventory
    # through the indexes instead of scanning a class's inventory for every tree.
    holds = [exists().where(_fits(member, c, a)) for c, a in ids.resources.items()]
    if ids.group.single_provider:
        return [exists().where(*in_tree, *holds)]
    # The unnumbered group's traits are checked on each combination later; a tree in
    # which no provider has them cannot give one, so it is left out here already,
    # starting from the trait's index rather than testing every tree.
    somewhere = aliased(ResourceProvider, name="somewhere")
    traits_in_tree = [
        root.in_(
            select(somewhere.root_provider_id)
            .join(ProviderTrait, ProviderTrait.resource_provider_id == somewhere.id)
            .where(ProviderTrait.trait_id.in_(any_of))
        )
        for any_of in ids.required
    ]
    return [*traits_in_tree, *(exists().where(*in_tree, has) for has in holds)]


def _roots(groups: list[_Ids], root: _Ids) -> Select:
    """The candidate trees' roots, in order (the caller pages through them)."""
    rp = ResourceProvider
    query = select(rp.id).where(rp.parent_provider_id.is_(None)).order_by(rp.id)
    query = query.where(
        *filters.with_traits(rp.id, root.required), *filters.without_traits(rp.id, root.forbidden)
    )
    for ids in groups:
        if ids.group.in_tree is not None:
            tree = select(ResourceProvider.root_provider_id).where(
                ResourceProvider.uuid == ids.group.in_tree
            )
            query = query.where(rp.id == tree.scalar_subquery())
        query = query.where(*_satisfiable(ids, rp.id))
    return query


#: Where the per-group flag columns start in `_page_rows`.
_FLAGS = 12


def _page_rows(groups: list[_Ids], roots: Subquery) -> Select:
    """Every provider of the page's trees with each of its inventories, in one query.

    Columns: provider id, root id, parent id, UUID, class id, total, reserved, ratio,
    min_unit, max_unit, step_size, used, then one flag per group: whether the provider
    passes that group's own filters (traits, aggregates). Python then decides what
    fits; the same rows make the summaries (parents and roots are in the same trees,
    so their UUIDs need no join). `roots` is the page of roots as a subquery, joined
    rather than sent back as a thousand-parameter IN list.
    """
    member = aliased(ResourceProvider, name="member")
    flags = [
        and_(true(), *_provider_conditions(ids, member)).label(f"ok{n}")
        for n, ids in enumerate(groups)
    ]
    return (
        select(
            member.id,
            member.root_provider_id,
            member.parent_provider_id,
            member.uuid,
            Inventory.resource_class_id,
            *capacity.rules(),
            *flags,
        )
        .select_from(roots)
        .join(member, member.root_provider_id == roots.c.id)
        .outerjoin(Inventory, Inventory.resource_provider_id == member.id)
        .order_by(member.root_provider_id, member.id)
    )


async def _rows(session: AsyncSession, query: Select) -> Sequence[Row[Any]]:
    """Run `query` on the session's connection, skipping the ORM's result processing:
    these are plain columns, and the saving counts over thousands of rows."""
    connection = await session.connection()
    return (await connection.execute(query)).all()


@dataclass
class _Page:
    """One page of trees: what each offers the groups, and what summaries show."""

    trees: dict[int, _Tree] = field(default_factory=dict)
    #: (provider, class) → amount still allocatable
    free: dict[tuple[int, int], float] = field(default_factory=dict)
    #: provider → Summary (traits filled in later)
    summaries: dict[int, Summary] = field(default_factory=dict)
    #: root → the providers of its tree
    members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


async def _page(
    session: AsyncSession, groups: list[_Ids], roots: Subquery, names: dict[int, str]
) -> _Page:
    """Read a page of trees and sort its inventories into each group's choices.

    This loop runs once per inventory row of the page (thousands), hence plain locals.
    """
    page = _Page()
    wanted = [(column, ids.resources) for column, ids in enumerate(groups, start=_FLAGS)]
    # (group position, root, provider) → classes of the group that provider can take
    offered: dict[tuple[int, int, int], set[int]] = defaultdict(set)
    summaries, members, trees, free = page.summaries, page.members, page.trees, page.free
    parents: dict[int, tuple[int | None, int]] = {}
    for row in await _rows(session, _page_rows(groups, roots)):
        provider, root_id, parent_id, uuid, class_id = row[:5]
        summary = summaries.get(provider)
        if summary is None:
            summary = summaries[provider] = Summary(uuid, None, "", {}, [])
            parents[provider] = (parent_id, root_id)
            members[root_id].append(provider)
            if root_id not in trees:
                trees[root_id] = _Tree()
        if class_id is None:
            continue
        total, reserved, ratio, min_unit, max_unit, step, used = row[5:_FLAGS]
        capacity_left = (total - reserved) * ratio
        available = capacity_left - used
        summary.resources[names[class_id]] = (int(capacity_left), int(used))
        free[provider, class_id] = available
        for column, resources in wanted:
            amount = resources.get(class_id)
            if (
                amount
                and row[column]
                and available >= amount
                and capacity.in_units(amount, min_unit, max_unit, step)
            ):
                offered[column, root_id, provider].add(class_id)
    for provider, (parent_id, root_id) in parents.items():
        summary = summaries[provider]
        summary.root_uuid = summaries[root_id].uuid
        summary.parent_uuid = summaries[parent_id].uuid if parent_id is not None else None
    for (column, root_id, provider), classes in offered.items():
        ids, tree = groups[column - _FLAGS], trees[root_id]
        if ids.group.single_provider:
            if len(classes) == len(ids.resources):
                tree.choices.setdefault(ids.group.suffix, []).append(provider)  # type: ignore[union-attr]
            continue
        per_class = tree.choices.setdefault(ids.group.suffix, {})
        for class_id in classes:
            per_class.setdefault(class_id, []).append(provider)  # type: ignore[union-attr]
    return page


def _placements(ids: _Ids, tree: _Tree) -> list[dict[int, int]]:
    """Ways to place one group in a tree: class id → provider id."""
    offer = tree.choices.get(ids.group.suffix)
    if not offer:
        return []
    if isinstance(offer, list):
        return [dict.fromkeys(ids.resources, provider) for provider in offer]
    options = [offer.get(class_id) for class_id in ids.resources]
    if not all(options):
        return []
    if all(len(providers) == 1 for providers in options):  # the usual case: one way
        return [{c: providers[0] for c, providers in zip(ids.resources, options, strict=True)}]
    return [
        dict(zip(ids.resources, chosen, strict=True))
        for chosen in itertools.product(*options)  # type: ignore[arg-type]
    ]


def _combine(
    request: Request,
    groups: list[_Ids],
    tree: _Tree,
    free: dict[tuple[int, int], float],
    trait_sets: dict[int, set[int]],
) -> Iterator[Candidate]:
    """Every valid combination of the groups' placements in one tree.

    With a single group each amount was already checked against its inventory in
    SQL; only several groups landing on one provider need their sum checked here.
    """
    several = len(groups) > 1
    collective = any(not g.group.single_provider and (g.required or g.forbidden) for g in groups)
    options = [_placements(ids, tree) for ids in groups]
    for combination in itertools.product(*options):
        pairs = list(zip(groups, combination, strict=True))
        if several and request.isolate:
            singles = [next(iter(p.values())) for ids, p in pairs if ids.group.single_provider]
            if len(set(singles)) != len(singles):
                continue
        allocations: dict[int, dict[int, int]] = {}
        for ids, placed in pairs:
            for class_id, provider in placed.items():
                held = allocations.setdefault(provider, {})
                held[class_id] = held.get(class_id, 0) + ids.resources[class_id]
        if several and any(
            amount > free[provider, class_id]
            for provider, amounts in allocations.items()
            for class_id, amount in amounts.items()
        ):
            continue
        if not request.nested and len(allocations) > 1:
            continue
        if collective and not _collective_traits(pairs, trait_sets):
            continue
        mappings = {ids.group.suffix: sorted(set(placed.values())) for ids, placed in pairs}
        yield Candidate(allocations, mappings)


def _collective_traits(
    pairs: list[tuple[_Ids, dict[int, int]]], trait_sets: dict[int, set[int]]
) -> bool:
    """The unnumbered group's traits, held by the providers serving it, together."""
    for ids, placed in pairs:
        if ids.group.single_provider or not (ids.required or ids.forbidden):
            continue
        held = set().union(*(trait_sets.get(p, set()) for p in placed.values()))
        if any(not (any_of & held) for any_of in ids.required) or held & ids.forbidden:
            return False
    return True


async def find(session: AsyncSession, request: Request) -> Result:
    """The candidates for `request`, at most `request.limit`, and their summaries."""
    groups, class_ids, root = await _resolve(session, request)
    names = {ident: name for name, ident in class_ids.items()}
    result = Result([], [], {}, names, set(class_ids))
    if not any(ids.resources for ids in groups):
        return result
    needs_traits = any(not ids.group.single_provider and ids.required for ids in groups)
    every_class = dict((await session.execute(select(ResourceClass.id, ResourceClass.name))).all())
    batch = request.limit or BATCH
    after = 0
    while request.limit is None or len(result.candidates) < request.limit:
        query = _roots(groups, root).where(ResourceProvider.id > after).limit(batch)
        page = await _page(session, groups, query.subquery("page"), every_class)
        trait_sets = await _trait_ids(session, set(page.summaries)) if needs_traits else {}
        for root_id in sorted(page.trees):
            found = list(_combine(request, groups, page.trees[root_id], page.free, trait_sets))
            result.candidates += found
            if found:
                _keep_summaries(request, page, root_id, found, result)
            if request.limit is not None and len(result.candidates) >= request.limit:
                break
        if len(page.trees) < batch:
            break
        after = max(page.trees)
    if request.limit is not None:
        del result.candidates[request.limit :]
    held = await traits.of_providers(session, result.uuids)
    for summary, provider in zip(result.summaries, result.uuids, strict=True):
        summary.traits = held.get(provider, [])
    return result


def _keep_summaries(
    request: Request, page: _Page, root_id: int, found: list[Candidate], result: Result
) -> None:
    """Summaries of a tree that gave candidates: every provider in it from 1.29 (as
    upstream), before that only the providers the candidates use."""
    used = {p for candidate in found for p in candidate.allocations}
    for provider in page.members[root_id]:
        if (request.nested or provider in used) and provider not in result.uuids:
            summary = page.summaries[provider]
            result.uuids[provider] = summary.uuid
            result.summaries.append(summary)


async def _trait_ids(session: AsyncSession, provider_ids: set[int]) -> dict[int, set[int]]:
    rows = await _rows(
        session,
        select(ProviderTrait.resource_provider_id, ProviderTrait.trait_id).where(
            ProviderTrait.resource_provider_id.in_(provider_ids)
        ),
    )
    result: dict[int, set[int]] = defaultdict(set)
    for provider_id, trait_id in rows:
        result[provider_id].add(trait_id)
    return result
