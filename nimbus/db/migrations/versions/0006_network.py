"""network: networks, subnets and pools, ports, routers, floating IPs, security groups,
quotas

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import nimbus.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "net_network",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("external", sa.Boolean(), nullable=False),
        sa.Column("mtu", sa.Integer(), nullable=False),
        sa.Column("network_type", sa.String(length=32), nullable=False),
        sa.Column("physical_network", sa.String(length=64), nullable=False),
        sa.Column("segmentation_id", sa.Integer(), nullable=True),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("availability_zone_hints", sa.JSON(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_net_network")),
        sa.UniqueConstraint(
            "network_type",
            "physical_network",
            "segmentation_id",
            name=op.f("uq_net_network_network_type_physical_network_segmentation_id"),
        ),
    )
    with op.batch_alter_table("net_network", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_net_network_project_id"), ["project_id"], unique=False)

    op.create_table(
        "net_quota",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource", name=op.f("pk_net_quota")),
    )
    op.create_table(
        "net_security_group",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stateful", sa.Boolean(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_net_security_group")),
    )
    with op.batch_alter_table("net_security_group", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_net_security_group_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "net_subnetpool",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("prefixes", sa.JSON(), nullable=False),
        sa.Column("default_prefixlen", sa.Integer(), nullable=False),
        sa.Column("min_prefixlen", sa.Integer(), nullable=False),
        sa.Column("max_prefixlen", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("default_quota", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_net_subnetpool")),
    )
    with op.batch_alter_table("net_subnetpool", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_net_subnetpool_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "net_default_security_group",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["net_security_group.id"],
            name="fk_net_default_sg_group",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_net_default_security_group")),
    )
    op.create_table(
        "net_port",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("mac_address", sa.String(length=32), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_owner", sa.String(length=255), nullable=False),
        sa.Column("device_id", sa.String(length=255), nullable=False),
        sa.Column("host_id", sa.String(length=255), nullable=False),
        sa.Column("vif_type", sa.String(length=64), nullable=False),
        sa.Column("vif_details", sa.JSON(), nullable=False),
        sa.Column("vnic_type", sa.String(length=64), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("allowed_address_pairs", sa.JSON(), nullable=False),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["net_network.id"],
            name=op.f("fk_net_port_network_id_net_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_net_port")),
        sa.UniqueConstraint(
            "network_id", "mac_address", name=op.f("uq_net_port_network_id_mac_address")
        ),
    )
    with op.batch_alter_table("net_port", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_net_port_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_net_port_network_id"), ["network_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_net_port_project_id"), ["project_id"], unique=False)

    op.create_table(
        "net_security_group_rule",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("ethertype", sa.String(length=8), nullable=False),
        sa.Column("protocol", sa.String(length=40), nullable=True),
        sa.Column("port_range_min", sa.Integer(), nullable=True),
        sa.Column("port_range_max", sa.Integer(), nullable=True),
        sa.Column("remote_ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("remote_group_id", sa.String(length=36), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["remote_group_id"],
            ["net_security_group.id"],
            name=op.f("fk_net_security_group_rule_remote_group_id_net_security_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["net_security_group.id"],
            name=op.f("fk_net_security_group_rule_security_group_id_net_security_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_net_security_group_rule")),
    )
    with op.batch_alter_table("net_security_group_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_net_security_group_rule_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_net_security_group_rule_security_group_id"),
            ["security_group_id"],
            unique=False,
        )

    op.create_table(
        "net_subnet",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("subnetpool_id", sa.String(length=36), nullable=True),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("gateway_ip", sa.String(length=64), nullable=True),
        sa.Column("enable_dhcp", sa.Boolean(), nullable=False),
        sa.Column("allocation_pools", sa.JSON(), nullable=False),
        sa.Column("dns_nameservers", sa.JSON(), nullable=False),
        sa.Column("host_routes", sa.JSON(), nullable=False),
        sa.Column("ipv6_ra_mode", sa.String(length=32), nullable=True),
        sa.Column("ipv6_address_mode", sa.String(length=32), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["net_network.id"],
            name=op.f("fk_net_subnet_network_id_net_network"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subnetpool_id"],
            ["net_subnetpool.id"],
            name=op.f("fk_net_subnet_subnetpool_id_net_subnetpool"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_net_subnet")),
    )
    with op.batch_alter_table("net_subnet", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_net_subnet_network_id"), ["network_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_net_subnet_project_id"), ["project_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_net_subnet_subnetpool_id"), ["subnetpool_id"], unique=False
        )

    op.create_table(
        "net_ip_allocation",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["net_port.id"],
            name=op.f("fk_net_ip_allocation_port_id_net_port"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subnet_id"],
            ["net_subnet.id"],
            name=op.f("fk_net_ip_allocation_subnet_id_net_subnet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("network_id", "ip_address", name=op.f("pk_net_ip_allocation")),
    )
    with op.batch_alter_table("net_ip_allocation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_net_ip_allocation_port_id"), ["port_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_net_ip_allocation_subnet_id"), ["subnet_id"], unique=False
        )

    op.create_table(
        "net_port_security_group",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["net_port.id"],
            name=op.f("fk_net_port_security_group_port_id_net_port"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["net_security_group.id"],
            name=op.f("fk_net_port_security_group_security_group_id_net_security_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "port_id", "security_group_id", name=op.f("pk_net_port_security_group")
        ),
    )
    with op.batch_alter_table("net_port_security_group", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_net_port_security_group_security_group_id"),
            ["security_group_id"],
            unique=False,
        )

    op.create_table(
        "net_router",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("gw_port_id", sa.String(length=36), nullable=True),
        sa.Column("enable_snat", sa.Boolean(), nullable=False),
        sa.Column("routes", sa.JSON(), nullable=False),
        sa.Column("availability_zone_hints", sa.JSON(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gw_port_id"],
            ["net_port.id"],
            name=op.f("fk_net_router_gw_port_id_net_port"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_net_router")),
    )
    with op.batch_alter_table("net_router", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_net_router_project_id"), ["project_id"], unique=False)

    op.create_table(
        "net_floatingip",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("floating_network_id", sa.String(length=36), nullable=False),
        sa.Column("floating_ip_address", sa.String(length=64), nullable=False),
        sa.Column("floating_port_id", sa.String(length=36), nullable=False),
        sa.Column("fixed_port_id", sa.String(length=36), nullable=True),
        sa.Column("fixed_ip_address", sa.String(length=64), nullable=True),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", nimbus.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fixed_port_id"],
            ["net_port.id"],
            name=op.f("fk_net_floatingip_fixed_port_id_net_port"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["floating_network_id"],
            ["net_network.id"],
            name=op.f("fk_net_floatingip_floating_network_id_net_network"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["floating_port_id"],
            ["net_port.id"],
            name=op.f("fk_net_floatingip_floating_port_id_net_port"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["net_router.id"],
            name=op.f("fk_net_floatingip_router_id_net_router"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_net_floatingip")),
        sa.UniqueConstraint(
            "fixed_port_id",
            "fixed_ip_address",
            name=op.f("uq_net_floatingip_fixed_port_id_fixed_ip_address"),
        ),
    )
    with op.batch_alter_table("net_floatingip", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_net_floatingip_fixed_port_id"), ["fixed_port_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_net_floatingip_floating_network_id"),
            ["floating_network_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_net_floatingip_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("net_floatingip", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_floatingip_project_id"))
        batch_op.drop_index(batch_op.f("ix_net_floatingip_floating_network_id"))
        batch_op.drop_index(batch_op.f("ix_net_floatingip_fixed_port_id"))

    op.drop_table("net_floatingip")
    with op.batch_alter_table("net_router", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_router_project_id"))

    op.drop_table("net_router")
    with op.batch_alter_table("net_port_security_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_port_security_group_security_group_id"))

    op.drop_table("net_port_security_group")
    with op.batch_alter_table("net_ip_allocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_ip_allocation_subnet_id"))
        batch_op.drop_index(batch_op.f("ix_net_ip_allocation_port_id"))

    op.drop_table("net_ip_allocation")
    with op.batch_alter_table("net_subnet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_subnet_subnetpool_id"))
        batch_op.drop_index(batch_op.f("ix_net_subnet_project_id"))
        batch_op.drop_index(batch_op.f("ix_net_subnet_network_id"))

    op.drop_table("net_subnet")
    with op.batch_alter_table("net_security_group_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_security_group_rule_security_group_id"))
        batch_op.drop_index(batch_op.f("ix_net_security_group_rule_project_id"))

    op.drop_table("net_security_group_rule")
    with op.batch_alter_table("net_port", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_port_project_id"))
        batch_op.drop_index(batch_op.f("ix_net_port_network_id"))
        batch_op.drop_index(batch_op.f("ix_net_port_device_id"))

    op.drop_table("net_port")
    op.drop_table("net_default_security_group")
    with op.batch_alter_table("net_subnetpool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_subnetpool_project_id"))

    op.drop_table("net_subnetpool")
    with op.batch_alter_table("net_security_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_security_group_project_id"))

    op.drop_table("net_security_group")
    op.drop_table("net_quota")
    with op.batch_alter_table("net_network", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_net_network_project_id"))

    op.drop_table("net_network")
