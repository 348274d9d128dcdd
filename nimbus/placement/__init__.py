"""Placement's domain logic: providers, inventories, claims and candidate search.

No HTTP here: nimbus.api.placement parses and renders; these modules decide.
"""
