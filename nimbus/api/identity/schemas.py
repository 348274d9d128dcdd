"""Request bodies of the identity resources.

Keystone stores attributes it does not know (a user's email, a project's custom
fields) as extras and shows them back, so these schemas allow extra fields while the
known ones are strictly typed and bounded.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from nimbus.api.common.body import Open, Strict
from nimbus.errors import BadRequest

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


class NonEmpty(Open):
    """An update must name at least one attribute (Keystone's ``minProperties: 1``)."""

    @model_validator(mode="after")
    def _names_something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("at least one attribute must be given")
        return self


def apply_changes(
    row: Any, body: BaseModel, columns: set[str], *, skip: frozenset[str] = frozenset()
) -> None:
    """PATCH semantics: set the `columns` the body gives, merge the rest into `extra`.

    `skip` names attributes the caller applies itself. An `id` may only repeat the
    row's own. A null description is stored as "" (Keystone's description columns are
    not nullable); other nulls leave the column as it was.
    """
    fields = body.model_dump(exclude_unset=True, exclude=set(skip))
    if fields.pop("id", row.id) != row.id:
        raise BadRequest("Cannot change ID")
    known, extra = split_extra(fields, columns)
    for name, value in known.items():
        if name == "description" and value is None:
            value = ""
        if value is not None:
            setattr(row, name, value)
    if extra:
        row.extra = {**row.extra, **extra}


# -- domains and tags ------------------------------------------------------------------

#: Keystone's explicit domain ids: a UUID4 without dashes.
DomainId = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{32}$")]
Tags = Annotated[list[Tag], Field(max_length=80)]


class DomainCreate(ProjectFields):
    name: Name64
    explicit_domain_id: DomainId | None = None


class DomainUpdate(ProjectFields, NonEmpty):
    pass


class DomainCreateBody(Strict):
    domain: DomainCreate


class DomainUpdateBody(Strict):
    domain: DomainUpdate


class TagsBody(Strict):
    tags: Tags

    @field_validator("tags")
    @classmethod
    def _unique(cls, tags: list[str]) -> list[str]:
        if len(set(tags)) != len(tags):
            raise ValueError(f"{tags} has non-unique elements")
        return tags


# -- groups ----------------------------------------------------------------------------


class GroupFields(Open):
    name: Name64 | None = None
    description: str | None = None


class GroupCreate(GroupFields):
    name: Name64
    domain_id: Id | None = None


class GroupUpdate(GroupFields, NonEmpty):
    domain_id: Id | None = None


class GroupCreateBody(Strict):
    group: GroupCreate


class GroupUpdateBody(Strict):
    group: GroupUpdate


# -- roles -----------------------------------------------------------------------------

RoleName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"\S")]


class RoleFields(Open):
    name: RoleName | None = None
    description: str | None = None
    options: dict[str, Any] | None = None


class RoleCreate(RoleFields):
    name: RoleName
    domain_id: Id | None = None


class RoleUpdate(RoleFields, NonEmpty):
    domain_id: Id | None = None


class RoleCreateBody(Strict):
    role: RoleCreate


class RoleUpdateBody(Strict):
    role: RoleUpdate


# -- the catalog: regions, services, endpoints -------------------------------------------


class RegionFields(Open):
    description: str | None = None
    parent_region_id: Id | None = None


class RegionCreate(RegionFields):
    id: Annotated[str, StringConstraints(max_length=64)] | None = None


class RegionUpdate(RegionFields, NonEmpty):
    pass


class RegionCreateBody(Strict):
    region: RegionCreate


class RegionUpdateBody(Strict):
    region: RegionUpdate


class ServiceFields(Open):
    type: Name255 | None = None
    name: Name255 | None = None
    enabled: bool | None = None


class ServiceCreate(ServiceFields):
    type: Name255


class ServiceUpdate(ServiceFields, NonEmpty):
    pass


class ServiceCreateBody(Strict):
    service: ServiceCreate


class ServiceUpdateBody(Strict):
    service: ServiceUpdate


Interface = Literal["public", "internal", "admin"]
Url = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class EndpointFields(Open):
    interface: Interface | None = None
    url: Url | None = None
    service_id: Id | None = None
    region_id: Id | None = None
    #: The v2-era name of region_id; a region named so is created when missing.
    region: Id | None = None
    enabled: bool | None = None


class EndpointCreate(EndpointFields):
    interface: Interface
    url: Url
    service_id: Id


class EndpointUpdate(EndpointFields, NonEmpty):
    pass


class EndpointCreateBody(Strict):
    endpoint: EndpointCreate


class EndpointUpdateBody(Strict):
    endpoint: EndpointUpdate


# -- application credentials -------------------------------------------------------------


class RoleRef(Strict):
    """A role named by id or by name (exactly one of them)."""

    id: Id | None = None
    name: RoleName | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.id is None) == (self.name is None):
            raise ValueError("a role is named by exactly one of id and name")
        return self


class AppCredentialCreate(Strict):
    name: Name255
    description: str | None = None
    secret: Annotated[str, StringConstraints(min_length=1, max_length=72)] | None = None
    expires_at: str | None = None
    roles: list[RoleRef] | None = None
    unrestricted: bool | None = None
    #: Access rules are not supported; clients send an empty list by default.
    access_rules: Annotated[list[Any], Field(max_length=0)] | None = None


class AppCredentialCreateBody(Strict):
    application_credential: AppCredentialCreate
