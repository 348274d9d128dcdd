"""The daemons: conductor, scheduler and compute agent. Each is an RPC endpoint on the
bus plus periodic tasks (nimbus.services.base)."""
