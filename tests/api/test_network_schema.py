"""The 0006 migration creates exactly the tables nimbus.db.models.network declares."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nimbus.db.base import ApiBase
from tests.api.conftest import Cloud


def _mentions_network_table(diff: Any) -> bool:
    return "net_" in repr(diff)


async def test_migration_matches_the_models(cloud: Cloud) -> None:
    def differences(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection)
        return [
            d for d in compare_metadata(context, ApiBase.metadata) if _mentions_network_table(d)
        ]

    async with cloud.process.db.engine.connect() as connection:
        found = await connection.run_sync(differences)
    assert found == []
