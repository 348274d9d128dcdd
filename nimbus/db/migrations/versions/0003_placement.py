"""placement

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import nimbus.db.base
from nimbus.placement.standard import STANDARD_RESOURCE_CLASSES, STANDARD_TRAITS

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _seed(table: str, names: tuple[str, ...]) -> None:
    """Insert the standard names; ids come from the table's own sequence."""
    rows = sa.table(table, sa.column("name", sa.String))
    op.bulk_insert(rows, [{"name": name} for name in names])


def upgrade() -> None:
    op.create_table(
        "placement_consumer",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("consumer_type", sa.String(length=255), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_placement_consumer")),
    )
    with op.batch_alter_table("placement_consumer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_placement_consumer_project_user", ["project_id", "user_id"], unique=False
        )

    op.create_table(
        "placement_resource_class",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_resource_class")),
        sa.UniqueConstraint("name", name=op.f("uq_placement_resource_class_name")),
    )
    op.create_table(
        "placement_resource_provider",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("parent_provider_id", sa.Integer(), nullable=True),
        sa.Column("root_provider_id", sa.Integer(), nullable=True),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_provider_id"],
            ["placement_resource_provider.id"],
            name="fk_placement_rp_parent",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_resource_provider")),
        sa.UniqueConstraint("name", name=op.f("uq_placement_resource_provider_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_placement_resource_provider_uuid")),
    )
    with op.batch_alter_table("placement_resource_provider", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_placement_resource_provider_parent_provider_id"),
            ["parent_provider_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_placement_resource_provider_root_provider_id"),
            ["root_provider_id"],
            unique=False,
        )

    op.create_table(
        "placement_trait",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_trait")),
        sa.UniqueConstraint("name", name=op.f("uq_placement_trait_name")),
    )
    op.create_table(
        "placement_allocation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_provider_id", sa.Integer(), nullable=False),
        sa.Column("resource_class_id", sa.Integer(), nullable=False),
        sa.Column("consumer_id", sa.String(length=36), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["placement_consumer.uuid"], name="fk_placement_allocation_consumer"
        ),
        sa.ForeignKeyConstraint(
            ["resource_class_id"],
            ["placement_resource_class.id"],
            name="fk_placement_allocation_rc",
        ),
        sa.ForeignKeyConstraint(
            ["resource_provider_id"],
            ["placement_resource_provider.id"],
            name="fk_placement_allocation_rp",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_allocation")),
    )
    with op.batch_alter_table("placement_allocation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_placement_allocation_consumer_id"), ["consumer_id"], unique=False
        )
        batch_op.create_index(
            "ix_placement_allocation_provider_class",
            ["resource_provider_id", "resource_class_id"],
            unique=False,
        )

    op.create_table(
        "placement_inventory",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_provider_id", sa.Integer(), nullable=False),
        sa.Column("resource_class_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("min_unit", sa.BigInteger(), nullable=False),
        sa.Column("max_unit", sa.BigInteger(), nullable=False),
        sa.Column("step_size", sa.BigInteger(), nullable=False),
        sa.Column("allocation_ratio", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_class_id"], ["placement_resource_class.id"], name="fk_placement_inventory_rc"
        ),
        sa.ForeignKeyConstraint(
            ["resource_provider_id"],
            ["placement_resource_provider.id"],
            name="fk_placement_inventory_rp",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_inventory")),
        sa.UniqueConstraint(
            "resource_provider_id",
            "resource_class_id",
            name=op.f("uq_placement_inventory_resource_provider_id_resource_class_id"),
        ),
    )

    op.create_table(
        "placement_provider_aggregate",
        sa.Column("resource_provider_id", sa.Integer(), nullable=False),
        sa.Column("aggregate_uuid", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_provider_id"],
            ["placement_resource_provider.id"],
            name="fk_placement_provider_aggregate_rp",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "resource_provider_id", "aggregate_uuid", name=op.f("pk_placement_provider_aggregate")
        ),
    )
    with op.batch_alter_table("placement_provider_aggregate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_placement_provider_aggregate_aggregate_uuid"),
            ["aggregate_uuid"],
            unique=False,
        )

    op.create_table(
        "placement_provider_trait",
        sa.Column("resource_provider_id", sa.Integer(), nullable=False),
        sa.Column("trait_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_provider_id"],
            ["placement_resource_provider.id"],
            name="fk_placement_provider_trait_rp",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trait_id"], ["placement_trait.id"], name="fk_placement_provider_trait_trait"
        ),
        sa.PrimaryKeyConstraint(
            "resource_provider_id", "trait_id", name=op.f("pk_placement_provider_trait")
        ),
    )
    with op.batch_alter_table("placement_provider_trait", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_placement_provider_trait_trait_id"), ["trait_id"], unique=False
        )

    _seed("placement_resource_class", STANDARD_RESOURCE_CLASSES)
    _seed("placement_trait", STANDARD_TRAITS)


def downgrade() -> None:
    with op.batch_alter_table("placement_provider_trait", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placement_provider_trait_trait_id"))

    op.drop_table("placement_provider_trait")
    with op.batch_alter_table("placement_provider_aggregate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placement_provider_aggregate_aggregate_uuid"))

    op.drop_table("placement_provider_aggregate")
    op.drop_table("placement_inventory")
    with op.batch_alter_table("placement_allocation", schema=None) as batch_op:
        batch_op.drop_index("ix_placement_allocation_provider_class")
        batch_op.drop_index(batch_op.f("ix_placement_allocation_consumer_id"))

    op.drop_table("placement_allocation")
    op.drop_table("placement_trait")
    with op.batch_alter_table("placement_resource_provider", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placement_resource_provider_root_provider_id"))
        batch_op.drop_index(batch_op.f("ix_placement_resource_provider_parent_provider_id"))

    op.drop_table("placement_resource_provider")
    op.drop_table("placement_resource_class")
    with op.batch_alter_table("placement_consumer", schema=None) as batch_op:
        batch_op.drop_index("ix_placement_consumer_project_user")

    op.drop_table("placement_consumer")
