"""select_destinations: where each instance of a request goes, claimed in Placement.

1. Placement proposes hosts where the flavor's resources fit now (allocation
   candidates, at most ``max_placement_results``);
2. the filters drop hosts that cannot take the instance; the weighers order the rest;
3. one of the best ``host_subset_size`` hosts is picked at random (so that concurrent
   schedulers do not all pile onto the same host) and the instance's allocations are
   claimed there; if the claim no longer fits (a concurrent boot took the room, which
   Placement detects with provider generations), the next host is tried;
4. the hosts after the chosen one become the instance's alternates, which the
   conductor tries, with their proposed claims, if the build fails.

If any instance of the request finds no host, the claims already made are released
and the request fails with NoValidHost (all or nothing, as Nova).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

from nimbus.compute import hosts
from nimbus.compute.instances import resources_of
from nimbus.compute.placement_client import Allocations, Owner
from nimbus.compute.request_spec import Spec
from nimbus.services.base import Deps, Service
from nimbus.services.scheduler import filters, host_state, weighers
from nimbus.services.scheduler.host_state import Context, HostState

LOG = logging.getLogger(__name__)
#: How many recent choices the scheduler remembers for server groups' sake.
PLACED_KEPT = 10_000


class NoValidHost(Exception):
    """No host can take the request; the message is the fault users see."""

    def __init__(self, reason: str = "There are not enough hosts available.") -> None:
        super().__init__(f"No valid host was found. {reason}")


@dataclass
class Destination:
    host: str
    node: str
    node_uuid: str
    allocations: Allocations
    zone: str

    @classmethod
    def of(cls, state: HostState) -> Destination:
        return cls(state.host, state.node, state.node_uuid, state.allocations, state.zone)


class SchedulerService(Service):
    binary = hosts.SCHEDULER
    topic = "scheduler"

    def __init__(self, deps: Deps, host: str) -> None:
        super().__init__(deps, host)
        self._filters = filters.by_names(deps.options.filters)
        self._weighers = weighers.by_names(deps.options.weighers, deps.options.strategy)
        self._hosts = host_state.HostCache(deps.options.host_state_ttl)
        #: instance uuid → the host chosen for it, newest last (see host_state.context)
        self._placed: OrderedDict[str, str] = OrderedDict()
        #: server group uuid → its turn (kept while a request holds or awaits it)
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def select_destinations(
        self,
        spec: dict[str, Any],
        instance_uuids: list[str],
        exclude_hosts: list[str] | None = None,
        claim: bool = True,
    ) -> list[dict[str, Any]]:
        """Per instance: {"host", "node", "node_uuid", "allocations", "zone",
        "alternates": [...]}, claimed unless `claim` is False (a resize claims both
        its consumers at once itself).

        Raises NoValidHost (to the caller, as a RemoteError named so).
        """
        request = Spec(**spec)  # type: ignore[typeddict-item]
        candidates = await self._candidates(request, set(exclude_hosts or ()))
        owner = Owner(request.get("project_id", ""), request.get("user_id", ""))
        chosen: list[dict[str, Any]] = []
        async with self._group_turn(request):
            async with self._db.reader() as session:
                ctx = await host_state.context(session, request, self._placed)
            try:
                for uuid in instance_uuids:
                    chosen.append(await self._place(uuid, candidates, ctx, owner, claim))
            except NoValidHost:
                if claim:
                    for uuid in instance_uuids[: len(chosen)]:
                        await self._deps.placement.release(uuid)  # type: ignore[union-attr]
                raise
        return chosen

    @contextlib.asynccontextmanager
    async def _group_turn(self, spec: Spec) -> AsyncIterator[None]:
        """Requests into one server group are placed one at a time, each after the
        choices of the one before it (`_placed`): two boots in flight at once cannot
        both take one host of an anti-affinity group. (Schedulers in other processes
        still can, as in Nova, whose agents then recheck; ours do not yet.)"""
        group = spec.get("group")
        if not group:
            yield
            return
        turn = self._turns.get(group["uuid"])
        if turn is None:
            turn = self._turns[group["uuid"]] = asyncio.Lock()
        async with turn:
            yield

    async def _candidates(self, spec: Spec, exclude: set[str]) -> list[HostState]:
        resources = resources_of(spec["flavor"])
        offers = await self._deps.placement.candidates(  # type: ignore[union-attr]
            resources, [], self._options.max_placement_results
        )
        proposals = {offer.root: offer.allocations for offer in offers}
        free = {offer.root: offer.free for offer in offers}
        states = await self._hosts.load(self._db, proposals, free, self._deps.service_down_time)
        force = spec.get("force_host")
        return [s for s in states if s.host not in exclude and (not force or s.host == force)]

    def _acceptable(self, states: list[HostState], ctx: Context) -> list[HostState]:
        for name, check in self._filters:
            states = [s for s in states if check(s, ctx)]
            LOG.debug("filter %s leaves %d hosts", name, len(states))
        return states

    async def _place(
        self,
        uuid: str,
        candidates: list[HostState],
        ctx: Context,
        owner: Owner,
        claim: bool,
    ) -> dict[str, Any]:
        ranked = weighers.weigh(self._acceptable(candidates, ctx), ctx, self._weighers)
        subset = max(1, self._options.host_subset_size)
        while ranked:
            pick = random.randrange(min(subset, len(ranked)))
            state = ranked.pop(pick)
            if claim and not await self._deps.placement.claim(  # type: ignore[union-attr]
                uuid, state.allocations, owner
            ):
                candidates.remove(state)  # full now: no use to the next instances either
                continue
            self._consume(state, ctx)
            self._remember(uuid, state.host)
            alternates = ranked[: max(0, self._options.max_attempts - 1)]
            return {
                **asdict(Destination.of(state)),
                "alternates": [asdict(Destination.of(a)) for a in alternates],
            }
        raise NoValidHost()

    def _remember(self, uuid: str, host: str) -> None:
        """Keep the choice until the conductor has surely recorded it (the newest
        PLACED_KEPT choices: once recorded, the database's host is used anyway)."""
        self._placed[uuid] = host
        while len(self._placed) > PLACED_KEPT:
            self._placed.popitem(last=False)

    @staticmethod
    def _consume(state: HostState, ctx: Context) -> None:
        """What the next instance of this request should see of the chosen host."""
        held = next(iter(state.allocations.values()), {})
        state.free_ram_mb -= held.get("MEMORY_MB", 0)
        state.free_vcpus -= held.get("VCPU", 0)
        state.free_disk_gb -= held.get("DISK_GB", 0)
        state.instances += 1
        ctx.group_hosts.append(state.host)
