"""Compute's API-level tables: flavors, key pairs, server groups, aggregates, quotas,
and the mapping of each instance to the cell that holds it (Nova's API database)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nimbus.db.base import ApiBase, utcnow


def new_uuid() -> str:
    """Nova's ids are dashed UUIDs (Keystone's are hex)."""
    return str(uuid.uuid4())


class Flavor(ApiBase):
    __tablename__ = "flavor"
    __table_args__ = (UniqueConstraint("name"), UniqueConstraint("flavorid"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]


class FlavorExtraSpec(ApiBase):
    __tablename__ = "flavor_extra_spec"

    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("flavor.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(ApiBase):
    """Access to a private flavor, one row per project."""

    __tablename__ = "flavor_project"

    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("flavor.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class KeyPair(ApiBase):
    __tablename__ = "key_pair"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(8), default="ssh")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServerGroup(ApiBase):
    """Nova's instance group: a policy (affinity, anti-affinity, soft-…) over members."""

    __tablename__ = "server_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(255))
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServerGroupMember(ApiBase):
    __tablename__ = "server_group_member"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("server_group.id", ondelete="CASCADE"), primary_key=True
    )
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class Aggregate(ApiBase):
    __tablename__ = "aggregate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]


class AggregateHost(ApiBase):
    __tablename__ = "aggregate_host"

    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregate.id", ondelete="CASCADE"), primary_key=True
    )
    host: Mapped[str] = mapped_column(String(255), primary_key=True)


class AggregateMetadata(ApiBase):
    __tablename__ = "aggregate_metadata"

    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregate.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Quota(ApiBase):
    """A limit set for a project (user_id empty) or for one user within it."""

    __tablename__ = "quota"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True, default="")
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(ApiBase):
    """Defaults: the 'default' class holds the limits of projects with none of their own."""

    __tablename__ = "quota_class"

    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class InstanceMapping(ApiBase):
    """Which cell holds an instance (one cell, "cell1", until cells arrive; builds that
    never scheduled go to "cell0")."""

    __tablename__ = "instance_mapping"

    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    cell: Mapped[str] = mapped_column(String(36), default="cell1")
    queued_for_delete: Mapped[bool] = mapped_column(Boolean, default=False)


class RequestSpec(ApiBase):
    """What a boot asked for (flavor, image, hints, group...), kept for rebuild, resize
    and rescheduling."""

    __tablename__ = "request_spec"

    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
