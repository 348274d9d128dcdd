"""Image members: the projects a shared image is offered to.

The owner offers an image to a project; the image is reachable by that project at once
but appears in its lists only after it *accepts* (so nobody can spam another project's
image list).  Only the member decides its status; only the owner adds and removes
members.  Who may call what is policy (see the API); what a caller can *see* is here:
a member sees its own membership and nothing of the others.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db.base import utcnow
from nimbus.db.lookup import all_rows, flush_unique
from nimbus.db.models.image import Image, ImageMember
from nimbus.errors import Forbidden, NotFound, PayloadTooLarge
from nimbus.image.visibility import Viewer

STATUSES = ("pending", "accepted", "rejected")
#: Glance's default image_member_quota.
MAX_MEMBERS = 128


def check_shared(image: Image) -> None:
    """Members exist only on shared images (private ones cannot have any since v2.5)."""
    if image.visibility != "shared":
        raise Forbidden("Only shared images have members.")


def _sees_all(image: Image, viewer: Viewer) -> bool:
    return viewer.is_admin or viewer.owns(image)


async def list_members(session: AsyncSession, image: Image, viewer: Viewer) -> list[ImageMember]:
    """Every member for the owner (and admins); a member gets only its own entry."""
    check_shared(image)
    query = select(ImageMember).where(ImageMember.image_id == image.id)
    if not _sees_all(image, viewer):
        query = query.where(ImageMember.member == viewer.project_id)
    return await all_rows(session, query.order_by(ImageMember.created_at, ImageMember.member))


async def get_member(
    session: AsyncSession, image: Image, member_id: str, viewer: Viewer
) -> ImageMember:
    check_shared(image)
    member = await session.get(ImageMember, (image.id, member_id))
    if member is None or not (_sees_all(image, viewer) or member_id == viewer.project_id):
        raise NotFound(f"{member_id} not found in the member list of the image {image.id}.")
    return member


async def add_member(session: AsyncSession, image: Image, member_id: str) -> ImageMember:
    """Offer the image to `member_id` (a project id, not checked, as in Glance)."""
    check_shared(image)
    count = await session.scalar(
        select(func.count()).select_from(ImageMember).where(ImageMember.image_id == image.id)
    )
    if (count or 0) >= MAX_MEMBERS:
        raise PayloadTooLarge(
            "The limit has been exceeded on the number of allowed image members for "
            f"this image. Attempted: {(count or 0) + 1}, Maximum: {MAX_MEMBERS}"
        )
    member = ImageMember(image_id=image.id, member=member_id, status="pending")
    session.add(member)
    await flush_unique(session, f"Member {member_id} is duplicated for image {image.id}")
    return member


def set_status(member: ImageMember, status: str) -> None:
    member.status = status
    member.updated_at = utcnow()


async def remove_member(session: AsyncSession, member: ImageMember) -> None:
    await session.delete(member)
