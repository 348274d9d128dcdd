"""The Placement API: resource providers, inventories, allocations, candidates."""
