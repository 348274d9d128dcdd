"""The whole Image v2 HTTP surface, one row per path."""

from __future__ import annotations

from nimbus.api.common.app import RouteTable
from nimbus.api.image import data, images, json_schemas, members, versions

ROUTES: RouteTable = [
    ("/", {"GET": versions.list_versions}),
    ("/versions", {"GET": versions.show_versions}),
    # images
    ("/v2/images", {"GET": images.list_images, "POST": images.create_image}),
    (
        "/v2/images/{image_id}",
        {"GET": images.show_image, "PATCH": images.update_image, "DELETE": images.delete_image},
    ),
    ("/v2/images/{image_id}/tasks", {"GET": images.list_image_tasks}),
    ("/v2/images/{image_id}/actions/deactivate", {"POST": images.deactivate_image}),
    ("/v2/images/{image_id}/actions/reactivate", {"POST": images.reactivate_image}),
    ("/v2/images/{image_id}/tags/{tag}", {"PUT": images.add_tag, "DELETE": images.remove_tag}),
    # data
    ("/v2/images/{image_id}/file", {"GET": data.download_data, "PUT": data.upload_data}),
    # members
    ("/v2/images/{image_id}/members", {"GET": members.list_members, "POST": members.create_member}),
    (
        "/v2/images/{image_id}/members/{member_id}",
        {
            "GET": members.show_member,
            "PUT": members.update_member,
            "DELETE": members.delete_member,
        },
    ),
    # schemas
    ("/v2/schemas/image", {"GET": json_schemas.image_schema}),
    ("/v2/schemas/images", {"GET": json_schemas.images_schema}),
    ("/v2/schemas/member", {"GET": json_schemas.member_schema}),
    ("/v2/schemas/members", {"GET": json_schemas.members_schema}),
]
