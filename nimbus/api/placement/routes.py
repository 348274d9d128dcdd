"""The whole Placement HTTP surface in one table, with the version each route appeared.

Unmarked handlers exist from 1.0. `since(v, handler)` answers 404 below v (405 where
upstream does, for DELETE of all inventories); `by_version` picks the handler by
version where a method changed meaning (PUT /resource_classes/{name} at 1.7).
"""

from __future__ import annotations

from nimbus.api.common.microversion import by_version, gated, since
from nimbus.api.placement import (
    aggregates,
    allocation_candidates,
    allocations,
    inventories,
    resource_classes,
    resource_providers,
    root,
    traits,
    usages,
)

ROUTES = gated(
    [
        ("/", {"GET": root.home}),
        (
            "/resource_providers",
            {
                "GET": resource_providers.list_providers,
                "POST": resource_providers.create_provider,
            },
        ),
        (
            "/resource_providers/{uuid}",
            {
                "GET": resource_providers.show_provider,
                "PUT": resource_providers.update_provider,
                "DELETE": resource_providers.delete_provider,
            },
        ),
        (
            "/resource_providers/{uuid}/inventories",
            {
                "GET": inventories.list_inventories,
                "POST": inventories.create_inventory,
                "PUT": inventories.replace_inventories,
                "DELETE": since("1.5", inventories.delete_inventories, absent=405),
            },
        ),
        (
            "/resource_providers/{uuid}/inventories/{resource_class}",
            {
                "GET": inventories.show_inventory,
                "PUT": inventories.update_inventory,
                "DELETE": inventories.delete_inventory,
            },
        ),
        ("/resource_providers/{uuid}/usages", {"GET": usages.of_provider}),
        (
            "/resource_providers/{uuid}/aggregates",
            {
                "GET": since("1.1", aggregates.list_aggregates),
                "PUT": since("1.1", aggregates.set_aggregates),
            },
        ),
        (
            "/resource_providers/{uuid}/traits",
            {
                "GET": since("1.6", traits.list_provider_traits),
                "PUT": since("1.6", traits.set_provider_traits),
                "DELETE": since("1.6", traits.delete_provider_traits),
            },
        ),
        ("/resource_providers/{uuid}/allocations", {"GET": allocations.list_for_provider}),
        (
            "/resource_classes",
            {
                "GET": since("1.2", resource_classes.list_classes),
                "POST": since("1.2", resource_classes.create_class),
            },
        ),
        (
            "/resource_classes/{name}",
            {
                "GET": since("1.2", resource_classes.show_class),
                "PUT": by_version(
                    ("1.2", resource_classes.rename_class), ("1.7", resource_classes.ensure_class)
                ),
                "DELETE": since("1.2", resource_classes.delete_class),
            },
        ),
        ("/traits", {"GET": since("1.6", traits.list_traits)}),
        (
            "/traits/{name}",
            {
                "GET": since("1.6", traits.show_trait),
                "PUT": since("1.6", traits.put_trait),
                "DELETE": since("1.6", traits.delete_trait),
            },
        ),
        ("/allocations", {"POST": since("1.13", allocations.set_many)}),
        (
            "/allocations/{consumer_uuid}",
            {
                "GET": allocations.list_for_consumer,
                "PUT": allocations.set_for_consumer,
                "DELETE": allocations.delete_for_consumer,
            },
        ),
        ("/allocation_candidates", {"GET": since("1.10", allocation_candidates.list_candidates)}),
        ("/usages", {"GET": since("1.9", usages.totals)}),
    ]
)
