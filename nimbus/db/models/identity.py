"""Identity tables: the Keystone data model.

Domains are projects with `is_domain` set, as in Keystone, so that project trees and
domain ownership share one table; a domain's own `domain_id` is the ROOT_DOMAIN
sentinel so that (domain_id, name) stays unique for domains too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nimbus.db.base import ApiBase, id_column, utcnow
from nimbus.db.models.changes import watch

ROOT_DOMAIN = "<<root>>"
#: Global roles have no domain; the sentinel keeps (domain_id, name) unique.
GLOBAL_ROLE = "<<null>>"


class Project(ApiBase):
    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(String(64), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    is_domain: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProjectTag(ApiBase):
    __tablename__ = "project_tag"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class User(ApiBase):
    __tablename__ = "user"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_created_at: Mapped[datetime | None]
    password_expires_at: Mapped[datetime | None]
    default_project_id: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Group(ApiBase):
    __tablename__ = "group"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Membership(ApiBase):
    __tablename__ = "user_group_membership"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Role(ApiBase):
    __tablename__ = "role"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), default=GLOBAL_ROLE)
    description: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ImpliedRole(ApiBase):
    __tablename__ = "implied_role"

    prior_role_id: Mapped[str] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True
    )
    implied_role_id: Mapped[str] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True
    )


class Assignment(ApiBase):
    """One role granted to an actor (user or group) on a target (project, domain, system).

    `type` is one of UserProject, GroupProject, UserDomain, GroupDomain, UserSystem,
    GroupSystem; `target_id` is "all" for the system.
    """

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_target", "target_id"),)

    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role_id: Mapped[str] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True
    )
    inherited: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)


class Region(ApiBase):
    __tablename__ = "region"

    id: Mapped[str] = id_column()
    description: Mapped[str] = mapped_column(Text, default="")
    parent_region_id: Mapped[str | None] = mapped_column(String(255))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Service(ApiBase):
    __tablename__ = "service"

    id: Mapped[str] = id_column()
    type: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Endpoint(ApiBase):
    __tablename__ = "endpoint"

    id: Mapped[str] = id_column()
    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    interface: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(Text)
    region_id: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RevocationEvent(ApiBase):
    """A rule that makes matching tokens invalid until they would have expired anyway.

    Either one token (by `audit_id`) or every token of a user / project issued before
    `issued_before` (password change, user disabled, role removed).
    """

    __tablename__ = "revocation_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_id: Mapped[str | None] = mapped_column(String(32), index=True)
    user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    project_id: Mapped[str | None] = mapped_column(String(64), index=True)
    issued_before: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class FernetKey(ApiBase):
    """The token key ring, kept in the database so every API process shares it."""

    __tablename__ = "fernet_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApplicationCredential(ApiBase):
    __tablename__ = "application_credential"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    roles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


#: Every identity table is one family: a write to any of them moves its counter, which
#: is what lets token validation trust its cache (see nimbus.db.changes).
IDENTITY = "identity"
watch(
    IDENTITY,
    [
        model.__tablename__
        for model in (
            Project,
            ProjectTag,
            User,
            Group,
            Membership,
            Role,
            ImpliedRole,
            Assignment,
            Region,
            Service,
            Endpoint,
            RevocationEvent,
            FernetKey,
            ApplicationCredential,
        )
    ],
)
