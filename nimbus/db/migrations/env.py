"""Alembic environment: runs on the connection that nimbus.db.migrate hands over."""

from alembic import context

from nimbus.db import models  # noqa: F401 - registers every table on the metadata
from nimbus.db.base import ApiBase, CellBase
from nimbus.db.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=[ApiBase.metadata, CellBase.metadata],
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
