"""Who may see an image, in SQL (for lists) and for one image (for lookups).

Glance decides visibility in its database layer, before any policy rule runs, and so
does this module: an image the caller may not see simply does not exist for it (404).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.models.image import Image, ImageMember

#: Listing filters on member status; "all" means any.
MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")


@dataclass(frozen=True)
class Viewer:
    """The caller as image visibility sees it.

    `project_id` is the project the token is scoped to (images are owned by projects);
    `is_admin` comes from the policy rule context_is_admin, so operators can redefine
    who sees every image.
    """

    project_id: str | None
    is_admin: bool = False

    def owns(self, image: Image) -> bool:
        return self.project_id is not None and image.owner == self.project_id


def _membership(project_id: str, member_status: str) -> ColumnElement[bool]:
    """The image is shared with `project_id`, with that member status unless "all"."""
    condition = and_(ImageMember.image_id == Image.id, ImageMember.member == project_id)
    if member_status != "all":
        condition = and_(condition, ImageMember.status == member_status)
    return exists().where(condition)


def listable(viewer: Viewer, visibility: str | None, member_status: str) -> ColumnElement[bool]:
    """The images a list shows, as Glance composes it.

    Without a visibility filter a list holds the viewer's own images, public ones and
    shared ones it accepted (or has `member_status` for), but another project's
    community images only when asked for with visibility=community (or all): community
    images are reachable by everyone yet advertised to no one.  Admins see every
    image, community ones included only on request.
    """
    if viewer.is_admin:
        seen: ColumnElement[bool] = true()
    else:
        reachable = [Image.visibility.in_(("public", "community"))]
        if viewer.project_id is not None:
            reachable += [
                Image.owner == viewer.project_id,
                and_(
                    Image.visibility == "shared",
                    _membership(viewer.project_id, member_status),
                ),
            ]
        seen = or_(*reachable)
    if visibility == "all":
        return seen
    if visibility is not None:
        return and_(seen, Image.visibility == visibility)
    if viewer.project_id is None:
        return and_(seen, Image.visibility != "community")
    return and_(seen, or_(Image.owner == viewer.project_id, Image.visibility != "community"))


async def can_see(session: AsyncSession, image: Image, viewer: Viewer) -> bool:
    """Whether `viewer` may look the image up by id (any member status will do)."""
    if viewer.is_admin or image.owner is None or viewer.owns(image):
        return True
    if image.visibility in ("public", "community"):
        return True
    if image.visibility != "shared" or viewer.project_id is None:
        return False
    member = await session.get(ImageMember, (image.id, viewer.project_id))
    return member is not None
