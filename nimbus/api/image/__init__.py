"""The Image service's HTTP surface (Glance v2)."""
