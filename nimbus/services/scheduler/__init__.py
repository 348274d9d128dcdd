"""The scheduler: Placement's candidates, then filters and weighers, then a claim.
See manager.py for the flow; filters and weighers are chosen by name in the options."""

from nimbus.services.scheduler.manager import NoValidHost, SchedulerService

__all__ = ["NoValidHost", "SchedulerService"]
