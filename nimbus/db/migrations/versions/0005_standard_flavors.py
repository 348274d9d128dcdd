"""standard flavors: m1.tiny … m1.xlarge, so that a fresh cloud can boot at once

Revision ID: 0005
Revises: 0004

A data migration rather than a bootstrap step: it runs once, so a flavor the admin
deletes stays deleted. The sizes are devstack's (which upstream's docs and Tempest's
configuration assume).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# flavorid, name, memory_mb, vcpus, root_gb (a copy: migrations do not import app code)
STANDARD = (
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
    ("3", "m1.medium", 4096, 2, 40),
    ("4", "m1.large", 8192, 4, 80),
    ("5", "m1.xlarge", 16384, 8, 160),
)


def _flavor_table() -> sa.Table:
    return sa.table(
        "flavor",
        sa.column("flavorid", sa.String),
        sa.column("name", sa.String),
        sa.column("memory_mb", sa.Integer),
        sa.column("vcpus", sa.Integer),
        sa.column("root_gb", sa.Integer),
        sa.column("ephemeral_gb", sa.Integer),
        sa.column("swap", sa.Integer),
        sa.column("rxtx_factor", sa.Float),
        sa.column("is_public", sa.Boolean),
        sa.column("disabled", sa.Boolean),
        sa.column("created_at", sa.DateTime),
    )


def upgrade() -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    existing = {row[0] for row in op.get_bind().execute(sa.text("SELECT flavorid FROM flavor"))}
    op.bulk_insert(
        _flavor_table(),
        [
            {
                "flavorid": flavorid,
                "name": name,
                "memory_mb": memory_mb,
                "vcpus": vcpus,
                "root_gb": root_gb,
                "ephemeral_gb": 0,
                "swap": 0,
                "rxtx_factor": 1.0,
                "is_public": True,
                "disabled": False,
                "created_at": now,
            }
            for flavorid, name, memory_mb, vcpus, root_gb in STANDARD
            if flavorid not in existing and name not in existing
        ],
    )


def downgrade() -> None:
    flavorids = ", ".join(f"'{f[0]}'" for f in STANDARD)
    op.execute(f"DELETE FROM flavor WHERE flavorid IN ({flavorids})")
