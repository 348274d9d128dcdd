"""The Image service (Glance v2) domain logic: images, their data, members; no HTTP."""
