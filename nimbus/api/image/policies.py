"""Glance's default policy rules, so that operators' policy.yaml files mean the same here.

Rules as in upstream Glance's glance/policies/{base,image}.py on its master branch
(July 2026; the 2026.1 defaults).  Every image rule is for project-scoped tokens only,
as upstream's scope_types say.

What the handlers put in the target (top level, as Glance's ImageTarget exposes it):

- ``project_id`` and ``owner``: the image's owner (for add_image, the owner the new
  image would have; for get_images, the caller's project);
- ``visibility``: the image's visibility (for add_image, the requested one);
- ``member_id``: the caller's project when the image is shared and the caller is not
  its owner (Glance sets it so: the caller can only have reached such an image as a
  member), None otherwise.

Visibility itself (who can see which image at all) is not policy: it is decided by
the database layer before any rule runs (nimbus.image.visibility), and a rule that
refuses an operation on an image the caller cannot `get_image` answers 404, not 403.
"""

_ADMIN = "rule:context_is_admin"
_PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
_PROJECT_READER = "role:reader and project_id:%(project_id)s"
_IMAGE_MEMBER = "project_id:%(member_id)s"
_COMMUNITY = "'community':%(visibility)s"
_PUBLIC = "'public':%(visibility)s"
_SHARED = "'shared':%(visibility)s"


def _reachable(role: str) -> str:
    """`role` on the owning project, or an image the caller can reach by its visibility."""
    return (
        f"role:{role} and (project_id:%(project_id)s or {_IMAGE_MEMBER}"
        f" or {_COMMUNITY} or {_PUBLIC} or {_SHARED})"
    )


_ADMIN_OR_PROJECT_MEMBER = f"{_ADMIN} or ({_PROJECT_MEMBER})"
_ADMIN_OR_PROJECT_READER = f"{_ADMIN} or ({_PROJECT_READER})"
_ADMIN_OR_SHARED_MEMBER = f"{_ADMIN} or (role:member and {_IMAGE_MEMBER})"
_ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER = (
    f"{_ADMIN} or role:reader and (project_id:%(project_id)s or {_IMAGE_MEMBER})"
)
_SERVICE = "rule:service_api"

DEFAULTS: dict[str, str] = {
    # Building blocks.
    "default": "",
    "context_is_admin": "role:admin",
    "service_api": "role:service or role:admin",
    # Images.
    "add_image": f"{_ADMIN} or ({_PROJECT_MEMBER} and project_id:%(owner)s)",
    "delete_image": _ADMIN_OR_PROJECT_MEMBER,
    "get_image": f"{_ADMIN} or ({_reachable('reader')})",
    "get_images": _ADMIN_OR_PROJECT_READER,
    "modify_image": _ADMIN_OR_PROJECT_MEMBER,
    "publicize_image": _ADMIN,
    "communitize_image": _ADMIN_OR_PROJECT_MEMBER,
    "download_image": f"{_ADMIN} or ({_reachable('member')})",
    "download_from_store": f"{_ADMIN} or ({_reachable('member')})",
    "upload_image": _ADMIN_OR_PROJECT_MEMBER,
    "delete_image_location": _ADMIN,
    "get_image_location": _ADMIN_OR_PROJECT_READER,
    "set_image_location": _ADMIN_OR_PROJECT_MEMBER,
    "add_image_location": f"{_SERVICE} or ({_PROJECT_MEMBER} and project_id:%(owner)s)",
    "fetch_image_location": _SERVICE,
    # Members.
    "add_member": _ADMIN_OR_PROJECT_MEMBER,
    "delete_member": _ADMIN_OR_PROJECT_MEMBER,
    "get_member": _ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER,
    "get_members": _ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER,
    "modify_member": _ADMIN_OR_SHARED_MEMBER,
    # Actions and the cache.
    "manage_image_cache": _ADMIN,
    "deactivate": _ADMIN_OR_PROJECT_MEMBER,
    "reactivate": _ADMIN_OR_PROJECT_MEMBER,
    "copy_image": _ADMIN,
    "list_cached_nodes": _ADMIN,
}

# Upstream gives every image rule scope_types=['project'] (the building blocks have none).
SCOPE_TYPES: dict[str, tuple[str, ...]] = {
    name: ("project",)
    for name in DEFAULTS
    if name not in ("default", "context_is_admin", "service_api")
}
