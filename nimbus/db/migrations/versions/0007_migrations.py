"""migrations: one row per resize, cold migration or evacuation (os-migrations)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import nimbus.db.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "migration",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("migration_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("source_compute", sa.String(length=255), nullable=True),
        sa.Column("source_node", sa.String(length=255), nullable=True),
        sa.Column("dest_compute", sa.String(length=255), nullable=True),
        sa.Column("dest_node", sa.String(length=255), nullable=True),
        sa.Column("dest_host", sa.String(length=255), nullable=True),
        sa.Column("old_instance_type_id", sa.Integer(), nullable=True),
        sa.Column("new_instance_type_id", sa.Integer(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration")),
        sa.UniqueConstraint("uuid", name=op.f("uq_migration_uuid")),
    )
    with op.batch_alter_table("migration", schema=None) as batch_op:
        batch_op.create_index("ix_migration_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_migration_instance_uuid_status", ["instance_uuid", "status"], unique=False
        )


def downgrade() -> None:
    op.drop_table("migration")
