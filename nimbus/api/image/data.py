"""PUT and GET /v2/images/{id}/file: image data in and out, streamed both ways.

Neither direction holds an image in memory: the upload goes from `request.stream()`
to the store block by block (nimbus.image.upload), the download from the store to a
StreamingResponse.  Downloads honour a single ``Range: bytes=…`` (206), as Glance does.
"""

from __future__ import annotations

import re

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from nimbus.api.common.app import no_content
from nimbus.api.common.handler import db
from nimbus.api.image import access
from nimbus.errors import BadRequest, Forbidden, NimbusError, UnsupportedMediaType
from nimbus.image import upload
from nimbus.storage.images import ImageDataMissing

OCTET_STREAM = "application/octet-stream"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(NimbusError):
    code = 416
    title = "Requested Range Not Satisfiable"


def _declared_size(request: Request) -> int | None:
    """What the client says it will send: X-OpenStack-Image-Size, else Content-Length."""
    value = request.headers.get("x-openstack-image-size") or request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest("Invalid or missing image size in request headers.")
    return int(value)


async def upload_data(request: Request) -> Response:
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != OCTET_STREAM:
        raise UnsupportedMediaType(
            f"The request media type {media_type or 'None'} is not supported by this server. "
            f"Image data must be sent as {OCTET_STREAM}."
        )
    cap: int = request.app.state.image_size_cap
    declared = _declared_size(request)
    async with db(request).transaction() as session:
        image = await access.load(request, session, "upload_image")
        if declared is not None and declared > cap:
            raise upload.too_large(cap)
        await upload.begin(session, image)
    try:
        await upload.receive(db(request), access.store(request), image, request.stream(), cap)
    except ClientDisconnect:
        raise BadRequest("The client closed the connection before the upload completed.") from None
    return no_content()


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a satisfiable single range; None for the whole image."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        raise RangeNotSatisfiable(f"Invalid range: {header}")
    start, end = match.groups()
    if start == "":
        first, last = max(size - int(end), 0), size - 1
    else:
        first, last = int(start), min(int(end) if end else size - 1, size - 1)
    if first > last or first >= size:
        raise RangeNotSatisfiable(f"Requested range {header} is not available in {size} bytes.")
    return first, last


async def download_data(request: Request) -> Response:
    async with db(request).reader() as session:
        image = await access.load(request, session)
    if image.status == "deactivated" and not access.viewer(request).is_admin:
        raise Forbidden(
            "The requested image has been deactivated. Image data download is forbidden."
        )
    access.enforce(request, "download_image", image)
    if image.status not in ("active", "deactivated") or image.size is None:
        return no_content()
    wanted = _byte_range(request.headers.get("range"), image.size)
    first, last = wanted or (0, image.size - 1)
    try:
        chunks = await access.store(request).open(image.id, first, last - first + 1)
    except ImageDataMissing:
        return no_content()
    headers = {"Content-Type": OCTET_STREAM, "Content-Length": str(last - first + 1)}
    if image.checksum:
        headers["Content-MD5"] = image.checksum
    if wanted is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{image.size}"
    return StreamingResponse(chunks, status_code=206 if wanted else 200, headers=headers)
