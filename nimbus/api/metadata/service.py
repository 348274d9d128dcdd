"""The handler the data plane's metadata listeners call, one request at a time."""

from __future__ import annotations

from nimbus.api.metadata import documents, facts
from nimbus.db.engine import Database
from nimbus.netdev.metadata import MetadataRequest, MetadataResponse

NOT_FOUND = MetadataResponse(404, b"Not Found")


class MetadataService:
    """Answers a guest's GET for its own instance; anything else is 404 (or 405).

    Every request reads the database afresh (a port's device or a floating IP may have
    changed a moment ago); it is a few primary-key and indexed reads.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def __call__(self, request: MetadataRequest) -> MetadataResponse:
        if request.method != "GET":
            return MetadataResponse(405, b"Method Not Allowed")
        if request.network_id is None:
            return NOT_FOUND
        async with self._db.reader() as session:
            found = await facts.lookup(session, request.network_id, request.remote_ip)
        if found is None:
            return NOT_FOUND
        document = documents.lookup(found, request.path)
        if document is None:
            return NOT_FOUND
        return MetadataResponse(200, document.body, document.content_type)
