"""What compute needs to know about Keystone's projects (nova/api/openstack/identity.py
asks Keystone over HTTP; here the tables are shared)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.identity import Project
from nimbus.errors import BadRequest


async def verify_project(session: AsyncSession, project_id: str) -> None:
    """Refuse (400, Nova's words) a project id that names no project."""
    if await session.get(Project, project_id) is None:
        raise BadRequest(f"Project ID {project_id} is not a valid project.")
