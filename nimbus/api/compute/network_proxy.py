"""What Nova's network proxies (security groups, floating IPs, networks) share: the
caller as the network domain sees them, the network options, and writes that run
again when a concurrent allocation won the race (as the network API's do)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from nimbus.api.common import handler
from nimbus.api.compute.common import caller
from nimbus.network import transactions
from nimbus.network.options import NetworkOptions
from nimbus.network.scope import Scope

Result = TypeVar("Result")


def scope(request: Request) -> Scope:
    context = caller(request)
    return Scope(project_id=context.project_id or "", admin=context.is_admin)


def options(request: Request) -> NetworkOptions:
    """The network service's options (quotas, MAC base), as `nimbus.cloud` hands them
    to the compute app too."""
    return request.app.state.network_options


async def write(request: Request, work: Callable[[AsyncSession], Awaitable[Result]]) -> Result:
    return await transactions.retrying(handler.db(request), work)
