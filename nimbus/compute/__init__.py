"""Compute's domain logic: instances and their state machine, boots and actions,
hosts and services, the scheduler's placement client. No HTTP here: nimbus.api.compute
parses and renders; the daemons in nimbus.services run what is cast to them."""
