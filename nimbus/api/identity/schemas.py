"""Request bodies of the identity resources.

Keystone stores attributes it does not know (a user's email, a project's custom
fields) as extras and shows them back, so these schemas allow extra fields while the
known ones are strictly typed and bounded.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from nimbus.api.common.body import Open, Strict

Name64 = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=False)]
Name255 = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^,/]*$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def split_extra(fields: dict[str, Any], columns: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(known columns, extras) of a validated body."""
    known = {k: v for k, v in fields.items() if k in columns}
    extra = {k: v for k, v in fields.items() if k not in columns}
    return known, extra


class ProjectFields(Open):
    name: Name64 | None = None
    description: str | None = None
    enabled: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=80)


class ProjectCreate(ProjectFields):
    name: Name64
    domain_id: Id | None = None
    parent_id: Id | None = None
    is_domain: bool = False


class ProjectUpdate(ProjectFields):
    domain_id: Id | None = None
    is_domain: bool | None = None


class ProjectCreateBody(Strict):
    project: ProjectCreate


class ProjectUpdateBody(Strict):
    project: ProjectUpdate


class UserFields(Open):
    name: Name255 | None = None
    enabled: bool | None = None
    password: str | None = None
    default_project_id: Id | None = None
    options: dict[str, Any] | None = None


class UserCreate(UserFields):
    name: Name255
    domain_id: Id | None = None


class UserUpdate(UserFields):
    domain_id: Id | None = None


class UserCreateBody(Strict):
    user: UserCreate


class UserUpdateBody(Strict):
    user: UserUpdate


class PasswordChange(Strict):
    password: str
    original_password: str


class PasswordChangeBody(Strict):
    user: PasswordChange
