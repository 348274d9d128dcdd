"""Authentication: proving who you are, choosing a scope, and checking tokens later.

Every API process validates tokens itself against the shared database (no call to
another service), so validation costs a decrypt and a few indexed queries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.db import changes
from nimbus.db.models.identity import IDENTITY, ApplicationCredential, Project, Role, User
from nimbus.errors import NotFound, Unauthorized
from nimbus.identity import assignments, projects, revocation, users
from nimbus.identity.passwords import verify_password
from nimbus.identity.tokens import Scope, TokenCodec, TokenData, new_audit_id


class TokenNotValid(Unauthorized):
    """The token is unknown, expired, revoked or no longer backed by a role."""


@dataclass(frozen=True)
class UserRef:
    """A user named by id, or by name within a domain named by id or name."""

    id: str | None = None
    name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None


@dataclass(frozen=True)
class ScopeRequest:
    """A scope as the auth request names it: by ids or by names within a domain."""

    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    project_domain_name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None
    system: bool = False
    unscoped: bool = False


@dataclass(frozen=True)
class Credentials:
    """The identity part of an auth request: one or more methods and their secrets."""

    methods: tuple[str, ...]
    password_user: UserRef | None = None
    password: str | None = None
    token: str | None = None
    app_cred_id: str | None = None
    app_cred_name: str | None = None
    app_cred_user: UserRef | None = None
    app_cred_secret: str | None = None


@dataclass(frozen=True)
class Holder:
    """Who holds a token and what it may do where: the part shared by every token of
    one user for one scope, so it is resolved once and cached."""

    user: User
    user_domain: Project
    roles: list[Role]
    project: Project | None = None
    project_domain: Project | None = None
    domain: Project | None = None


@dataclass(frozen=True)
class ResolvedToken(Holder):
    """A valid token with everything its body and the request context show."""

    token: str = ""
    data: TokenData | None = None  # always set; a default only because Holder has some


def _resolved(token: str, data: TokenData, holder: Holder) -> ResolvedToken:
    return ResolvedToken(
        **{f.name: getattr(holder, f.name) for f in fields(Holder)}, token=token, data=data
    )


class IdentityCache:
    """What this process derived from the identity tables, keyed by anything hashable.

    An entry is trusted only while the identity change counter (nimbus.db.changes) is
    where it was when the entry was made: any write to the identity tables in any
    process (a revoke, a password change, a role granted or removed, a rename) moves the
    counter, and everything cached before is recomputed. Bounded as an LRU.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()

    def get(self, key: Hashable, generation: int) -> Any:
        entry = self._entries.get(key)
        if entry is None or entry[0] != generation:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, generation: int, value: Any) -> None:
        self._entries[key] = (generation, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def _check_expiry(data: TokenData, allow_expired: bool) -> None:
    if not allow_expired and data.expires_at <= datetime.now(UTC):
        raise TokenNotValid("The token has expired.")


def refuse() -> Unauthorized:
    """One answer for every bad credential, so it never says which part was wrong."""
    return Unauthorized("The request you have made requires authentication.")


async def _find_user(session: AsyncSession, ref: UserRef) -> User | None:
    domain_id = ref.domain_id
    if not ref.id and not domain_id:
        try:
            domain_id = (await projects.find_domain(session, id=None, name=ref.domain_name)).id
        except NotFound:
            return None
    return await users.find_user(session, id=ref.id, name=ref.name, domain_id=domain_id)


async def _usable_user(session: AsyncSession, user: User | None) -> tuple[User, Project]:
    """The user and its domain, both existing and enabled."""
    if user is None or not user.enabled:
        raise refuse()
    domain = await session.get(Project, user.domain_id)
    if domain is None or not domain.enabled:
        raise refuse()
    return user, domain


class Authenticator:
    """Issues and validates tokens with the shared key ring."""

    def __init__(self, codec: TokenCodec, expiration: int) -> None:
        self.codec = codec
        self.expiration = timedelta(seconds=expiration)
        self.cache = IdentityCache()

    # -- issuing ----------------------------------------------------------------

    async def _by_password(self, session: AsyncSession, creds: Credentials) -> User:
        user = await _find_user(session, creds.password_user or UserRef())
        if user is None or not await verify_password(creds.password or "", user.password_hash):
            raise refuse()
        return user

    async def _by_app_credential(
        self, session: AsyncSession, creds: Credentials
    ) -> ApplicationCredential:
        query = select(ApplicationCredential)
        if creds.app_cred_id:
            query = query.where(ApplicationCredential.id == creds.app_cred_id)
        else:
            owner = await _find_user(session, creds.app_cred_user or UserRef())
            if owner is None:
                raise refuse()
            query = query.where(
                ApplicationCredential.user_id == owner.id,
                ApplicationCredential.name == creds.app_cred_name,
            )
        app_cred = await session.scalar(query)
        if app_cred is None or not await verify_password(
            creds.app_cred_secret or "", app_cred.secret_hash
        ):
            raise refuse()
        if app_cred.expires_at and app_cred.expires_at <= datetime.now(UTC):
            raise refuse()
        return app_cred

    async def _scope(
        self, session: AsyncSession, user_id: str, request: ScopeRequest | None, generation: int
    ) -> Scope:
        """The scope an auth request names, by ids (cached while nothing changed)."""
        key = ("scope", user_id, request)
        scope = self.cache.get(key, generation)
        if scope is None:
            scope = await self._find_scope(session, user_id, request)
            self.cache.put(key, generation, scope)
        return scope

    async def _find_scope(
        self, session: AsyncSession, user_id: str, request: ScopeRequest | None
    ) -> Scope:
        if request is None or request.unscoped:
            user = await session.get(User, user_id)
            if request is None and user is not None and user.default_project_id:
                project = await session.get(Project, user.default_project_id)
                if project is not None and project.enabled and not project.is_domain:
                    return Scope(project_id=project.id)
            return Scope()
        if request.system:
            return Scope(system=True)
        if request.project_id or request.project_name:
            domain_id = request.project_domain_id
            if not request.project_id and not domain_id:
                domain_id = (
                    await projects.find_domain(session, id=None, name=request.project_domain_name)
                ).id
            try:
                project = await projects.find_project(
                    session, id=request.project_id, name=request.project_name, domain_id=domain_id
                )
            except NotFound:
                raise refuse() from None
            return Scope(project_id=project.id)
        try:
            domain = await projects.find_domain(
                session, id=request.domain_id, name=request.domain_name
            )
        except NotFound:
            raise refuse() from None
        return Scope(domain_id=domain.id)

    async def issue(
        self, session: AsyncSession, creds: Credentials, scope: ScopeRequest | None
    ) -> ResolvedToken:
        """Check every method the request names, then seal a token for the scope."""
        generation = await changes.current(session, IDENTITY)
        methods = creds.methods
        now = datetime.now(UTC)
        expires = now + self.expiration
        audit_ids: tuple[str, ...] = (new_audit_id(),)
        app_cred_id = None
        user_id: str | None = None
        if "password" in creds.methods:
            user_id = (await self._by_password(session, creds)).id
        if "token" in creds.methods:
            original = await self._validate(session, creds.token or "", generation)
            if user_id and original.user.id != user_id:
                raise refuse()
            user_id = original.user.id
            expires = min(expires, original.data.expires_at)
            audit_ids = (audit_ids[0], original.data.audit_ids[0])
            app_cred_id = original.data.app_cred_id
            # As upstream, a rescoped token lists how its chain was authenticated.
            methods = tuple(dict.fromkeys((*original.data.methods, *methods)))
        if "application_credential" in creds.methods:
            app_cred = await self._by_app_credential(session, creds)
            user_id, app_cred_id = app_cred.user_id, app_cred.id
            scope = ScopeRequest(project_id=app_cred.project_id)
            if app_cred.expires_at:
                expires = min(expires, app_cred.expires_at)
        if user_id is None:
            raise refuse()
        data = TokenData(
            user_id=user_id,
            methods=methods,
            scope=await self._scope(session, user_id, scope, generation),
            issued_at=now,
            expires_at=expires,
            audit_ids=audit_ids,
            app_cred_id=app_cred_id,
        )
        holder = await self._holder(session, data, generation)
        resolved = _resolved(self.codec.seal(data), data, holder)
        self.cache.put(("token", resolved.token), generation, resolved)
        return resolved

    # -- validating -------------------------------------------------------------

    async def validate(
        self,
        session: AsyncSession,
        token: str,
        *,
        allow_expired: bool = False,
        generation: int | None = None,
    ) -> ResolvedToken:
        """The token's holder and scope, or TokenNotValid.

        While no identity table has changed since this process last saw the token, this
        costs one primary-key read (the change counter), or none when the caller already
        read the counter for this request (`generation`).
        """
        if generation is None:
            generation = await changes.current(session, IDENTITY)
        return await self._validate(session, token, generation, allow_expired=allow_expired)

    def cached(
        self, token: str, generation: int, *, allow_expired: bool = False
    ) -> ResolvedToken | None:
        """The token as validated before, if nothing changed since; None when unknown.

        Raises TokenNotValid for a known token that has expired.
        """
        resolved: ResolvedToken | None = self.cache.get(("token", token), generation)
        if resolved is not None:
            _check_expiry(resolved.data, allow_expired)
        return resolved

    async def _validate(
        self, session: AsyncSession, token: str, generation: int, *, allow_expired: bool = False
    ) -> ResolvedToken:
        resolved = self.cached(token, generation, allow_expired=allow_expired)
        if resolved is not None:
            return resolved
        data = self.codec.open(token)
        if data is None:
            raise TokenNotValid("The request you have made requires authentication.")
        _check_expiry(data, allow_expired)
        if await revocation.is_revoked(session, data):
            raise TokenNotValid("The token has been revoked.")
        try:
            holder = await self._holder(session, data, generation)
        except Unauthorized as exc:
            raise TokenNotValid(exc.message) from None
        resolved = _resolved(token, data, holder)
        self.cache.put(("token", token), generation, resolved)
        return resolved

    async def _holder(self, session: AsyncSession, data: TokenData, generation: int) -> Holder:
        key = ("holder", data.user_id, data.scope, data.app_cred_id)
        holder = self.cache.get(key, generation)
        if holder is None:
            holder = await self._find_holder(session, data)
            self.cache.put(key, generation, holder)
        return holder

    async def _find_holder(self, session: AsyncSession, data: TokenData) -> Holder:
        user, user_domain = await _usable_user(session, await session.get(User, data.user_id))
        holder = Holder(user=user, user_domain=user_domain, roles=[])
        scope = data.scope
        if scope.kind == "unscoped":
            return holder
        if scope.project_id:
            project = await session.get(Project, scope.project_id)
            domain = project and await session.get(Project, project.domain_id)
            if not project or not project.enabled or not domain or not domain.enabled:
                raise refuse()
            role_ids = await assignments.effective_role_ids(session, user.id, project=project)
            holder = replace(holder, project=project, project_domain=domain)
        elif scope.domain_id:
            domain = await session.get(Project, scope.domain_id)
            if not domain or not domain.enabled:
                raise refuse()
            role_ids = await assignments.effective_role_ids(session, user.id, domain_id=domain.id)
            holder = replace(holder, domain=domain)
        else:
            role_ids = await assignments.effective_role_ids(session, user.id, system=True)
        if data.app_cred_id:
            role_ids &= await self._app_cred_roles(session, data.app_cred_id)
        if not role_ids:
            raise Unauthorized(f"User {user.id} has no access to the requested scope.")
        return replace(holder, roles=await assignments.roles_by_id(session, role_ids))

    async def _app_cred_roles(self, session: AsyncSession, app_cred_id: str) -> set[str]:
        app_cred = await session.get(ApplicationCredential, app_cred_id)
        if app_cred is None:
            raise refuse()
        return {role["id"] for role in app_cred.roles}

    async def revoke(self, session: AsyncSession, resolved: ResolvedToken) -> None:
        await revocation.revoke_token(session, resolved.data)
