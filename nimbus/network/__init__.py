"""The network service's domain logic (Neutron's control plane), free of HTTP.

The API (nimbus.api.network), the network agent and Nova call these functions; each
takes the database session of the caller's transaction and a `Scope` saying whose
resources the caller may see.
"""
