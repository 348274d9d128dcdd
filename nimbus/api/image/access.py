"""Who the caller is to an image, and enforcing Glance's policy rules on images.

Glance's rules read the image itself as the target (``%(project_id)s`` is the owner,
``%(member_id)s`` the caller when it reached a shared image as a member), not the URL,
so these helpers build that target instead of nimbus.api.common.handler's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from nimbus.api.common.handler import caller
from nimbus.db.models.image import Image
from nimbus.errors import Forbidden, NotFound
from nimbus.image.images import get_image, properties_of
from nimbus.image.visibility import Viewer
from nimbus.storage.images import ImageStore


def store(request: Request) -> ImageStore:
    """Where this service keeps image data (see nimbus.cloud)."""
    return request.app.state.store


def permits(request: Request, rule: str, target: dict[str, Any]) -> bool:
    return request.app.state.policy.allowed(rule, target, caller(request).credentials())


def refuse(request: Request, rule: str, target: dict[str, Any]) -> None:
    """403 unless `rule` allows the caller on `target` (used where no image exists yet)."""
    if not permits(request, rule, target):
        raise Forbidden(f"You are not authorized to complete {rule} action.")


def viewer(request: Request) -> Viewer:
    """The caller's project, and whether context_is_admin lets it see every image."""
    if not hasattr(request.state, "viewer"):
        request.state.viewer = Viewer(
            project_id=caller(request).project_id,
            is_admin=permits(request, "context_is_admin", {}),
        )
    return request.state.viewer


def image_target(image: Image, seer: Viewer) -> dict[str, Any]:
    """The image as Glance's ImageTarget shows it to policy rules."""
    shared_with_caller = image.visibility == "shared" and not seer.owns(image)
    return {
        **properties_of(image),
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "visibility": image.visibility,
        "protected": image.protected,
        "os_hidden": image.os_hidden,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "project_id": image.owner,
        "owner": image.owner,
        "member_id": seer.project_id if shared_with_caller else None,
    }


def enforce(request: Request, rule: str, image: Image) -> None:
    """Check `rule` on `image`; a caller who may not even get_image it gets a 404, as
    in Glance, so that refusals never reveal images the caller cannot see."""
    target = image_target(image, viewer(request))
    if permits(request, rule, target):
        return
    if rule == "get_image" or not permits(request, "get_image", target):
        raise NotFound(f"No image found with ID {image.id}")
    raise Forbidden(f"You are not authorized to complete {rule} action.")


async def load(request: Request, session: AsyncSession, rule: str = "get_image") -> Image:
    """The image of the URL, visible to the caller and allowed by `rule`."""
    image = await get_image(session, request.path_params["image_id"], viewer(request))
    enforce(request, rule, image)
    return image
