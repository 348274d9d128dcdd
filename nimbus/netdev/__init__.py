"""The network data plane: Linux bridges, namespaces, dnsmasq, nftables and the metadata proxy.

The network agent hands this library the desired state of its host as plain dataclasses
(`nimbus.netdev.model.Topology`); each module converges one kind of kernel object towards it
and removes what exists under its name tag but is no longer desired, so applying twice, or
after a restart, leaves exactly one copy of everything.
"""
