"""The instance usage audit report (os-instance_usage_audit_log).

Upstream's compute hosts can run a periodic "instance_usage_audit" task (off by
default, `[DEFAULT] instance_usage_audit = False`) that logs, per host and audit
period, how many servers it billed. Nimbus runs no such task, so the report is the
one upstream gives with auditing off: the last completed monthly period, every
compute host listed as not run, no instances and no errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.compute.hosts import COMPUTE
from nimbus.db.base import utcnow
from nimbus.db.models.cell import Service


def last_completed_month(before: datetime) -> tuple[datetime, datetime]:
    """The last whole month that ended before `before` (Nova's default audit period):
    from the 1st of the month before to the 1st of the month that follows it."""
    end = datetime(before.year, before.month, 1)
    if end >= before:
        end = _month_before(end)
    return _month_before(end), end


def _month_before(first: datetime) -> datetime:
    if first.month == 1:
        return datetime(first.year - 1, 12, 1)
    return datetime(first.year, first.month - 1, 1)


async def audit_report(session: AsyncSession, before: datetime | None = None) -> dict[str, Any]:
    """The audit report for the period before `before` (now by default), in Nova's
    field names."""
    begin, end = last_completed_month(before or utcnow().replace(tzinfo=None))
    hosts = sorted(
        set(await session.scalars(select(Service.host).where(Service.binary == COMPUTE)))
    )
    done = "ALL" if not hosts else f"0 of {len(hosts)}"
    return {
        "period_beginning": str(begin),
        "period_ending": str(end),
        "num_hosts": len(hosts),
        "num_hosts_done": 0,
        "num_hosts_running": 0,
        "num_hosts_not_run": len(hosts),
        "hosts_not_run": hosts,
        "total_instances": 0,
        "total_errors": 0,
        "overall_status": f"{done} hosts done. 0 errors.",
        "log": {},
    }
