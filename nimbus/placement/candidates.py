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

The search is one unit of work (`nimbus.placement.work`): names resolved, pages read
and traits added in one read transaction, on SQLite in one hop to a thread. Its SQL
depends only on the request's *shape* (how many groups, classes, trait and aggregate
sets, which filters are present); every value is a bound parameter, so the statement
of a shape is built once and SQLAlchemy's compiled cache answers every later search.

Sharing providers (``MISC_SHARES_VIA_AGGREGATE``) are not considered: every candidate
comes from a single tree. docs/placement.md lists that and the other deviations.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Integer,
    Row,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    exists,
    literal_column,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import AliasedClass

from nimbus.db.engine import Database
from nimbus.db.models.placement import (
    Inventory,
    ProviderTrait,
    ResourceClass,
    ResourceProvider,
    Trait,
)
from nimbus.errors import BadRequest
from nimbus.placement import capacity, filters, work
from nimbus.placement.errors import UnknownNames
from nimbus.placement.names import RESOURCE_CLASSES, TRAITS

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


_CLASSES = select(ResourceClass.__table__.c.id, ResourceClass.__table__.c.name)
_TRAITS_NAMED = select(Trait.__table__.c.name, Trait.__table__.c.id).where(
    Trait.__table__.c.name.in_(bindparam("names", expanding=True))
)


def _resolve(connection: Connection, request: Request) -> tuple[list[_Ids], dict[int, str], _Ids]:
    """The groups with ids for names, every class's name by id, and the root's traits
    (as a group): two statements whatever the request."""
    every_class = dict(connection.execute(_CLASSES).all())
    class_ids = {name: ident for ident, name in every_class.items()}
    wanted = {name for g in request.groups for name in g.resources}
    if unknown := wanted - set(class_ids):
        error = UnknownNames(RESOURCE_CLASSES.missing, unknown)
        raise BadRequest(f"Invalid resource class in resources parameter: {error.message}")
    root = Group(required=request.root_required, forbidden=request.root_forbidden)
    named = {n for g in (*request.groups, root) for n in set().union(*g.required, g.forbidden)}
    trait_ids = (
        dict(connection.execute(_TRAITS_NAMED, {"names": list(named)}).all()) if named else {}
    )

    def ids(g: Group, resources: dict[int, int]) -> _Ids:
        names = set().union(*g.required, g.forbidden)
        if unknown := names - set(trait_ids):
            raise UnknownNames(TRAITS.missing, unknown)
        required = [{trait_ids[n] for n in any_of} for any_of in g.required]
        return _Ids(g, resources, required, {trait_ids[n] for n in g.forbidden})

    resolved = [ids(g, {class_ids[n]: a for n, a in g.resources.items()}) for g in request.groups]
    return resolved, every_class, ids(root, {})


# Statements are built per request shape, with every value a named bound parameter;
# `_params` gives the values under the same names `_Shape` uses.


def _params(groups: list[_Ids], root: _Ids) -> dict[str, Any]:
    """The bound values of a search (without the page's `after` and `page_size`)."""
    params: dict[str, Any] = {}
    for n, ids in enumerate(groups):
        for k, (class_id, amount) in enumerate(ids.resources.items()):
            params[f"g{n}_class{k}"] = class_id
            params[f"g{n}_amount{k}"] = amount
        for k, any_of in enumerate(ids.required):
            params[f"g{n}_req{k}"] = sorted(any_of)
        if ids.forbidden:
            params[f"g{n}_forb"] = sorted(ids.forbidden)
        for k, any_of in enumerate(ids.group.member_of):
            params[f"g{n}_agg{k}"] = sorted(any_of)
        if ids.group.forbidden_aggregates:
            params[f"g{n}_xagg"] = sorted(ids.group.forbidden_aggregates)
        if ids.group.in_tree is not None:
            params[f"g{n}_tree"] = ids.group.in_tree
    for k, any_of in enumerate(root.required):
        params[f"root_req{k}"] = sorted(any_of)
    if root.forbidden:
        params["root_forb"] = sorted(root.forbidden)
    return params


@dataclass(frozen=True)
class _GroupShape:
    """What a group's SQL depends on: which parameters exist, not their values."""

    n: int
    single_provider: bool
    classes: int
    required: int
    forbidden: bool
    member_of: int
    forbidden_aggregates: bool
    in_tree: bool

    def one(self, name: str) -> BindParameter[int]:
        return bindparam(f"g{self.n}_{name}", type_=Integer)

    def many(self, name: str) -> BindParameter[Any]:
        return bindparam(f"g{self.n}_{name}", expanding=True)


@dataclass(frozen=True)
class _Shape:
    groups: tuple[_GroupShape, ...]
    root_required: int
    root_forbidden: bool
    #: Fence the per-tree EXISTS (PostgreSQL, MariaDB; see `_tree_has`).
    fenced: bool = False

    @classmethod
    def of(cls, groups: list[_Ids], root: _Ids, dialect: str = "") -> _Shape:
        return cls(
            tuple(
                _GroupShape(
                    n,
                    ids.group.single_provider,
                    len(ids.resources),
                    len(ids.required),
                    bool(ids.forbidden),
                    len(ids.group.member_of),
                    bool(ids.group.forbidden_aggregates),
                    ids.group.in_tree is not None,
                )
                for n, ids in enumerate(groups)
            ),
            len(root.required),
            bool(root.forbidden),
            dialect in ("postgresql", "mysql"),
        )


Member = AliasedClass[ResourceProvider]


def _member_of(member: Member, shape: _GroupShape) -> list[ColumnElement[bool]]:
    """Aggregates on a provider's root span its whole tree, as upstream treats them."""
    itself_or_root = (member.id, member.root_provider_id)
    sets = [shape.many(f"agg{k}") for k in range(shape.member_of)]
    forbidden = shape.many("xagg") if shape.forbidden_aggregates else ()
    return [
        *filters.in_aggregates(itself_or_root, sets),
        *filters.outside_aggregates(itself_or_root, forbidden),  # type: ignore[arg-type]
    ]


def _provider_conditions(shape: _GroupShape, member: Member) -> list[ColumnElement[bool]]:
    """What each provider serving the group must satisfy on its own."""
    forbidden = shape.many("forb") if shape.forbidden else ()
    conditions = [
        *_member_of(member, shape),
        *filters.without_traits(member.id, forbidden),  # type: ignore[arg-type]
    ]
    if shape.single_provider:
        required = [shape.many(f"req{k}") for k in range(shape.required)]
        conditions += filters.with_traits(member.id, required)  # type: ignore[arg-type]
    return conditions


def _fits(member: Member, shape: _GroupShape, k: int) -> ColumnElement[bool]:
    """The member's inventory of the group's k-th class can take its amount (Inventory
    in scope)."""
    return and_(
        Inventory.resource_provider_id == member.id,
        Inventory.resource_class_id == shape.one(f"class{k}"),
        capacity.fits(shape.one(f"amount{k}")),
    )


def _tree_has(fenced: bool, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """EXISTS over a tree's providers.

    PostgreSQL and MariaDB turn a plain EXISTS into a semi-join that starts from every
    inventory of a class (usage summed for each), and so pay for the whole cloud
    whatever the limit. An OFFSET in the subquery keeps both from flattening it
    (PostgreSQL documents ``OFFSET 0`` as its optimization fence), which leaves a probe
    per tree, in root order, stopping once the page is full: limit=50 over 10,000
    providers went from 160 ms to 7 ms on PostgreSQL, from 188 ms to 17 ms on MariaDB.
    SQLite already plans it that way."""
    query = select(literal_column("1")).where(*conditions)
    return (query.offset(0) if fenced else query).exists()


def _satisfiable(
    shape: _GroupShape, root: ColumnElement[int], fenced: bool = False
) -> list[ColumnElement[bool]]:
    """Conditions on a root: the group could be satisfied in its tree on its own.

    Correlated EXISTS per class, answered from indexes, so that a search with a limit
    stops after checking about as many trees as it returns.
    """
    member = aliased(ResourceProvider, name="member")
    in_tree = [member.root_provider_id == root, *_provider_conditions(shape, member)]
    # One table per (nested) EXISTS, so that every database walks member → inventory
    # through the indexes instead of scanning a class's inventory for every tree.
    holds = [exists().where(_fits(member, shape, k)) for k in range(shape.classes)]
    if shape.single_provider:
        return [_tree_has(fenced, *in_tree, *holds)]
    # The unnumbered group's traits are checked on each combination later; a tree in
    # which no provider has them cannot give one, so it is left out here already,
    # starting from the trait's index rather than testing every tree.
    somewhere = aliased(ResourceProvider, name="somewhere")
    traits_in_tree = [
        root.in_(
            select(somewhere.root_provider_id)
            .join(ProviderTrait, ProviderTrait.resource_provider_id == somewhere.id)
            .where(ProviderTrait.trait_id.in_(shape.many(f"req{k}")))
        )
        for k in range(shape.required)
    ]
    return [*traits_in_tree, *(_tree_has(fenced, *in_tree, has) for has in holds)]


def _roots(shape: _Shape) -> Select:
    """The candidate trees' roots after :after, in order, :page_size of them."""
    rp = ResourceProvider
    query = select(rp.id).where(rp.parent_provider_id.is_(None))
    required = [bindparam(f"root_req{k}", expanding=True) for k in range(shape.root_required)]
    forbidden = bindparam("root_forb", expanding=True) if shape.root_forbidden else ()
    query = query.where(
        *filters.with_traits(rp.id, required),  # type: ignore[arg-type]
        *filters.without_traits(rp.id, forbidden),  # type: ignore[arg-type]
    )
    for group in shape.groups:
        if group.in_tree:
            tree = select(ResourceProvider.root_provider_id).where(
                ResourceProvider.uuid == bindparam(f"g{group.n}_tree", type_=String)
            )
            query = query.where(rp.id == tree.scalar_subquery())
        query = query.where(*_satisfiable(group, rp.id, shape.fenced))
    after = bindparam("after", type_=Integer)
    return query.where(rp.id > after).order_by(rp.id).limit(bindparam("page_size", type_=Integer))


#: Where the per-group flag columns start in `_page_rows`.
_FLAGS = 12


def _page_rows(shape: _Shape, roots: Subquery) -> Select:
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
        and_(true(), *_provider_conditions(group, member)).label(f"ok{group.n}")
        for group in shape.groups
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


#: A page's statement per request shape (there are few shapes: one per kind of
#: flavor a scheduler asks for). Bounded, in case clients invent many.
_BY_SHAPE: dict[_Shape, Select] = {}
_SHAPES = 256


def _statement(shape: _Shape) -> Select:
    statement = _BY_SHAPE.get(shape)
    if statement is None:
        if len(_BY_SHAPE) >= _SHAPES:
            _BY_SHAPE.clear()
        statement = _BY_SHAPE[shape] = _page_rows(shape, _roots(shape).subquery("page"))
    return statement


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


def _page(rows: Sequence[Row[Any]], groups: list[_Ids], names: dict[int, str]) -> _Page:
    """Sort a page's inventories into each group's choices.

    This loop runs once per inventory row of the page (thousands), hence plain locals;
    rows come ordered by tree and provider, so a provider's rows are consecutive.
    """
    page = _Page()
    wanted = [(column, ids.resources) for column, ids in enumerate(groups, start=_FLAGS)]
    # (group position, root, provider) → classes of the group that provider can take
    offered: dict[tuple[int, int, int], list[int]] = {}
    summaries, members, trees, free = page.summaries, page.members, page.trees, page.free
    parents: list[tuple[int, int | None, int]] = []
    provider = None
    resources: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row[0] != provider:
            provider, root_id, parent_id = row[0], row[1], row[2]
            summary = summaries[provider] = Summary(row[3], None, "", {}, [])
            resources = summary.resources
            parents.append((provider, parent_id, root_id))
            members[root_id].append(provider)
            if root_id not in trees:
                trees[root_id] = _Tree()
        class_id = row[4]
        if class_id is None:
            continue
        total, reserved, ratio, min_unit, max_unit, step, used = row[5:_FLAGS]
        capacity_left = (total - reserved) * ratio
        available = capacity_left - used
        resources[names[class_id]] = (int(capacity_left), int(used))
        free[provider, class_id] = available
        for column, amounts in wanted:
            amount = amounts.get(class_id)
            if (
                amount
                and row[column]
                and available >= amount
                and min_unit <= amount <= max_unit
                and amount % step == 0
            ):
                key = (column, root_id, provider)
                found = offered.get(key)
                if found is None:
                    offered[key] = [class_id]
                else:
                    found.append(class_id)
    for provider, parent_id, root_id in parents:
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
    if not several:  # the usual request: one group, nothing to add up or keep apart
        yield from _single(request, groups[0], tree, trait_sets, collective)
        return
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


def _single(
    request: Request, ids: _Ids, tree: _Tree, trait_sets: dict[int, set[int]], collective: bool
) -> Iterator[Candidate]:
    """`_combine` for a request of one group: each placement is a candidate."""
    amounts, suffix = ids.resources, ids.group.suffix
    for placed in _placements(ids, tree):
        allocations: dict[int, dict[int, int]] = {}
        for class_id, provider in placed.items():
            held = allocations.get(provider)
            if held is None:
                allocations[provider] = {class_id: amounts[class_id]}
            else:
                held[class_id] = amounts[class_id]
        if not request.nested and len(allocations) > 1:
            continue
        if collective and not _collective_traits([(ids, placed)], trait_sets):
            continue
        yield Candidate(allocations, {suffix: sorted(allocations)})


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


async def search(db: Database, request: Request) -> Result:
    """The candidates for `request`, at most `request.limit`, and their summaries: one
    read transaction (on SQLite, in one hop to a thread)."""
    return await work.read(db, lambda connection: search_in(connection, request))


async def find(session: AsyncSession, request: Request) -> Result:
    """`search` inside a session the caller holds."""
    return await work.in_session(session, lambda connection: search_in(connection, request))


def search_in(connection: Connection, request: Request) -> Result:
    """The search itself, on a connection in a transaction."""
    groups, every_class, root = _resolve(connection, request)
    names = {class_id: every_class[class_id] for ids in groups for class_id in ids.resources}
    result = Result([], [], {}, names, {n for g in request.groups for n in g.resources})
    if not any(ids.resources for ids in groups):
        return result
    needs_traits = any(not ids.group.single_provider and ids.required for ids in groups)
    statement = _statement(_Shape.of(groups, root, connection.dialect.name))
    params = _params(groups, root)
    params["page_size"] = batch = request.limit or BATCH
    params["after"] = 0
    while request.limit is None or len(result.candidates) < request.limit:
        page = _page(connection.execute(statement, params).all(), groups, every_class)
        trait_sets = _trait_ids(connection, set(page.summaries)) if needs_traits else {}
        for root_id in sorted(page.trees):
            found = list(_combine(request, groups, page.trees[root_id], page.free, trait_sets))
            result.candidates += found
            if found:
                _keep_summaries(request, page, root_id, found, result)
            if request.limit is not None and len(result.candidates) >= request.limit:
                break
        if len(page.trees) < batch:
            break
        params["after"] = max(page.trees)
    if request.limit is not None:
        del result.candidates[request.limit :]
    held = _trait_names(connection, list(result.uuids))
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


_provider_trait = ProviderTrait.__table__
_trait = Trait.__table__
_TRAIT_IDS = select(_provider_trait.c.resource_provider_id, _provider_trait.c.trait_id).where(
    _provider_trait.c.resource_provider_id.in_(bindparam("providers", expanding=True))
)
_TRAIT_NAMES = (
    select(_provider_trait.c.resource_provider_id, _trait.c.name)
    .join(_trait, _trait.c.id == _provider_trait.c.trait_id)
    .where(_provider_trait.c.resource_provider_id.in_(bindparam("providers", expanding=True)))
    .order_by(_trait.c.name)
)
#: Providers per trait query: a page can hold thousands, and backends cap parameters.
_CHUNK = 5000


def _trait_ids(connection: Connection, provider_ids: set[int]) -> dict[int, set[int]]:
    result: dict[int, set[int]] = defaultdict(set)
    ids = sorted(provider_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = {"providers": ids[start : start + _CHUNK]}
        for provider_id, trait_id in connection.execute(_TRAIT_IDS, chunk):
            result[provider_id].add(trait_id)
    return result


def _trait_names(connection: Connection, provider_ids: list[int]) -> dict[int, list[str]]:
    """provider id → its trait names (sorted); providers without traits are absent."""
    result: dict[int, list[str]] = {}
    for start in range(0, len(provider_ids), _CHUNK):
        chunk = {"providers": provider_ids[start : start + _CHUNK]}
        for provider_id, name in connection.execute(_TRAIT_NAMES, chunk):
            result.setdefault(provider_id, []).append(name)
    return result
