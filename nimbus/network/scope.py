"""Whose resources a caller sees: an admin sees all, anyone else their project's
(plus shared and external networks, which nimbus.network.networks adds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select


@dataclass(frozen=True)
class Scope:
    project_id: str
    admin: bool = False

    def owns(self, project_id: str) -> bool:
        return self.admin or project_id == self.project_id

    def restrict(self, query: Select[Any], column: Any) -> Select[Any]:
        """`query` limited to the rows whose owner (`column`) this caller may see."""
        return query if self.admin else query.where(column == self.project_id)


#: What internal callers (the network agent, Nova's integration) act as.
SERVICE = Scope(project_id="", admin=True)
