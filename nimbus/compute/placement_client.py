"""How compute talks to Placement: a small client interface and its in-process form.

The scheduler, conductor and agents share the database with Placement, so the
in-process client calls Placement's domain layer directly (no HTTP round trip, no
token). Everything compute needs goes through `PlacementClient`, so that an HTTP
client can replace it if Placement ever runs apart.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Protocol

from nimbus.db.engine import Database
from nimbus.errors import Conflict, NotFound
from nimbus.placement import allocations, candidates, inventories, providers, usages, work
from nimbus.placement.allocations import Claim
from nimbus.placement.transactions import retrying

LOG = logging.getLogger(__name__)

#: provider uuid → resource class → amount
Allocations = dict[str, dict[str, int]]
#: Consumer type of instances (placement 1.38), as Nova writes it.
INSTANCE = "INSTANCE"
MIGRATION = "MIGRATION"


@dataclass(frozen=True)
class Candidate:
    """One way to place a request: the root provider (a compute node) and the claim."""

    root: str
    allocations: Allocations
    #: resource class → what is still free on the root provider (for weighing)
    free: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Inventory:
    total: int
    reserved: int = 0
    allocation_ratio: float = 1.0
    max_unit: int | None = None


@dataclass
class Owner:
    """Who a claim is for (placement's consumer project and user)."""

    project_id: str
    user_id: str
    consumer_type: str = INSTANCE


@dataclass
class Move:
    """Several consumers' allocations replaced in one atomic write (resize)."""

    claims: list[tuple[str, Allocations, Owner]] = field(default_factory=list)


class PlacementClient(Protocol):
    async def ensure_provider(self, uuid: str, name: str) -> None: ...
    async def set_inventory(self, uuid: str, inventory: dict[str, Inventory]) -> None: ...
    async def candidates(
        self, resources: dict[str, int], member_of: list[set[str]], limit: int
    ) -> list[Candidate]: ...
    async def claim(self, consumer: str, claim: Allocations, owner: Owner) -> bool: ...
    async def move(self, move: Move) -> bool: ...
    async def allocations_of(self, consumer: str) -> Allocations: ...
    async def release(self, consumer: str) -> None: ...
    async def usages(self, uuid: str) -> dict[str, int]: ...


class LocalPlacement:
    """`PlacementClient` over Placement's domain layer, in this process."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_provider(self, uuid: str, name: str) -> None:
        """A root provider with this uuid exists afterwards (created with `name`)."""
        async with self.db.reader() as session:
            found = await providers.by_uuid(session, [uuid])
        if uuid in found:
            return
        try:
            async with self.db.transaction() as session:
                await providers.create(session, name=name, uuid=uuid, parent_uuid=None)
        except Conflict:
            # Another agent of the same name registered first (a renamed node), or a
            # concurrent start of this one: either way the provider now exists.
            LOG.debug("provider %s (%s) already exists", name, uuid)

    async def set_inventory(self, uuid: str, inventory: dict[str, Inventory]) -> None:
        """Make the provider's inventory exactly `inventory` (skipped if unchanged)."""
        wanted = {
            name: inventories.Amounts(
                total=item.total,
                reserved=min(item.reserved, item.total),
                allocation_ratio=item.allocation_ratio,
                **({"max_unit": item.max_unit} if item.max_unit else {}),
            )
            for name, item in inventory.items()
        }

        async def work(session) -> None:  # type: ignore[no-untyped-def]
            provider = await providers.get(session, uuid)
            if await inventories.of_provider(session, provider.id) == wanted:
                return
            await inventories.replace_all(session, provider, provider.generation, wanted)

        await retrying(self.db, work)

    async def candidates(
        self, resources: dict[str, int], member_of: list[set[str]], limit: int
    ) -> list[Candidate]:
        """Where `resources` fit now, at most `limit` places, one tree each."""
        wanted = {name: amount for name, amount in resources.items() if amount > 0}
        request = candidates.Request(
            groups=[candidates.Group(resources=wanted, member_of=member_of)], limit=limit
        )
        found = await work.read(
            self.db, lambda connection: candidates.search_in(connection, request)
        )
        # The summaries name every provider the candidates use, with its root.
        root_of = {summary.uuid: summary.root_uuid for summary in found.summaries}
        free = {
            summary.uuid: {name: cap - used for name, (cap, used) in summary.resources.items()}
            for summary in found.summaries
        }
        result = []
        for candidate in found.candidates:
            claim = {
                found.uuids[provider]: {
                    found.class_names[klass]: amount for klass, amount in amounts.items()
                }
                for provider, amounts in candidate.allocations.items()
            }
            root = root_of[next(iter(claim))]
            result.append(Candidate(root, claim, free.get(root, {})))
        return result

    async def claim(self, consumer: str, claim: Allocations, owner: Owner) -> bool:
        """Make `consumer` hold exactly `claim`; False if it no longer fits (a
        concurrent claim took the room), after Placement's own retries of lost races."""
        return await self.move(Move([(consumer, claim, owner)]))

    async def move(self, move: Move) -> bool:
        claims = [
            Claim(
                consumer,
                held,
                project_id=owner.project_id,
                user_id=owner.user_id,
                consumer_type=owner.consumer_type,
            )
            for consumer, held, owner in move.claims
        ]
        try:
            await allocations.replace(self.db, claims)
        except Conflict as error:
            LOG.debug("claim refused: %s", error.message)
            return False
        return True

    async def allocations_of(self, consumer: str) -> Allocations:
        async with self.db.reader() as session:
            held = await allocations.of_consumer(session, consumer)
        return {rp: dict(entry["resources"]) for rp, entry in held.allocations.items()}

    async def release(self, consumer: str) -> None:
        """Drop everything `consumer` holds; holding nothing is fine."""
        with contextlib.suppress(NotFound):
            await allocations.delete_consumer(self.db, consumer)

    async def usages(self, uuid: str) -> dict[str, int]:
        async with self.db.reader() as session:
            provider = await providers.get(session, uuid)
            return await usages.of_provider(session, provider.id)
