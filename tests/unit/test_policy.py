"""The policy engine (oslo.policy's rule language) and Keystone's default rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nimbus.api.common.policy import Enforcer, PolicyError, PolicyNotAuthorized
from nimbus.api.identity.policies import DEFAULTS, SCOPE_TYPES


def check(rule: str, creds: dict[str, Any] | None = None, target: Any = None) -> bool:
    """Evaluate a single rule string."""
    return Enforcer({"r": rule}).allowed("r", target or {}, creds or {})


def roles(*names: str) -> dict[str, Any]:
    return {"roles": list(names)}


# --- the language ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"), [("@", True), ("", True), ("  ", True), ("!", False)]
)
def test_constant_rules(rule: str, expected: bool) -> None:
    assert check(rule) is expected


@pytest.mark.parametrize(
    ("rule", "held", "expected"),
    [
        # "and" binds tighter than "or": a or (b and c)
        ("role:a or role:b and role:c", ["a"], True),
        ("role:a or role:b and role:c", ["b"], False),
        ("role:a or role:b and role:c", ["b", "c"], True),
        ("role:a and role:b or role:c", ["c"], True),
        # "not" binds tighter than "and": (not a) and b
        ("not role:a and role:b", ["b"], True),
        ("not role:a and role:b", ["a", "b"], False),
        ("not role:a or role:b", ["a"], False),
        ("not role:a or role:b", [], True),
        ("not not role:a", ["a"], True),
        # parentheses override precedence
        ("(role:a or role:b) and role:c", ["a"], False),
        ("(role:a or role:b) and role:c", ["b", "c"], True),
        ("not (role:a or role:b)", ["b"], False),
        ("not (role:a or role:b)", [], True),
        ("((role:a))", ["a"], True),
        ("( role:a or ( role:b and role:c ) )", ["b", "c"], True),
        ("role:a or (role:b and (role:c or role:d))", ["b", "d"], True),
        # operators are case-insensitive, like oslo's
        ("role:a AND role:b", ["a"], False),
        ("NOT role:a Or role:b", ["a", "b"], True),
    ],
)
def test_operators_and_precedence(rule: str, held: list[str], expected: bool) -> None:
    assert check(rule, roles(*held)) is expected


@pytest.mark.parametrize(
    ("rule", "held", "expected"),
    [
        ("role:Admin", ["admin"], True),
        ("role:admin", ["ADMIN"], True),
        ("role:admin", ["administrator"], False),
        ("role:admin", [], False),
    ],
)
def test_role_names_are_case_insensitive(rule: str, held: list[str], expected: bool) -> None:
    assert check(rule, roles(*held)) is expected


def test_role_without_roles_in_credentials() -> None:
    assert check("role:admin", {"user_id": "u"}) is False


def test_role_name_from_the_target() -> None:
    target = {"target": {"role": {"name": "Reader"}}}
    assert check("role:%(target.role.name)s", roles("reader"), target) is True
    assert check("role:%(target.role.name)s", roles("member"), target) is False
    assert check("role:%(target.missing)s", roles("reader"), target) is False


@pytest.mark.parametrize(
    ("rule", "creds", "expected"),
    [
        ("is_admin:True", {"is_admin": True}, True),
        ("is_admin:True", {"is_admin": False}, False),
        ("is_admin:False", {"is_admin": False}, True),
        # Keystone's admin_required says is_admin:1; booleans compare by truth.
        ("is_admin:1", {"is_admin": True}, True),
        ("is_admin:1", {"is_admin": False}, False),
        ("is_admin:0", {"is_admin": False}, True),
        ("is_admin:True", {}, False),
        ("system_scope:all", {"system_scope": "all"}, True),
        ("system_scope:all", {"system_scope": None}, False),
        ("project_id:p1", {"project_id": "p1"}, True),
        ("project_id:'p1'", {"project_id": "p1"}, True),
        ('project_id:"p1"', {"project_id": "p1"}, True),
        ("project_id:p1", {"project_id": "p2"}, False),
        # numbers compare as text, so IDs that look numeric keep their leading zeros
        ("domain_id:20", {"domain_id": 20}, True),
        ("domain_id:20", {"domain_id": "20"}, True),
        ("project_id:0123", {"project_id": "0123"}, True),
        ("project_id:0123", {"project_id": "123"}, False),
        # a list-valued credential matches when any element does
        ("roles:admin", roles("member", "admin"), True),
        ("roles:admin", roles("member"), False),
        ("service_roles:service", {"service_roles": ["service"]}, True),
        # an explicit None literal matches a None credential (Keystone's "not domain_id:None")
        ("domain_id:None", {"domain_id": None}, True),
        ("domain_id:None", {"domain_id": "D"}, False),
        ("domain_id:'None'", {"domain_id": None}, False),
        # dotted credential attributes walk into nested credentials
        ("token.project.domain.id:D", {"token": {"project": {"domain": {"id": "D"}}}}, True),
        ("token.project.domain.id:D", {"token": {"project": {}}}, False),
    ],
)
def test_generic_checks_against_literals(rule: str, creds: dict[str, Any], expected: bool) -> None:
    assert check(rule, creds) is expected


NESTED = {"user_id": "u1", "target": {"user": {"id": "u1", "domain_id": "D"}, "domain_id": "D"}}
FLAT = {
    "user_id": "u1",
    "target.user.id": "u1",
    "target.user.domain_id": "D",
    "target.domain_id": "D",
}
MIXED = {"target": {"user.id": "u1", "user": {"domain_id": "D"}}, "target.domain_id": "D"}


@pytest.mark.parametrize("target", [NESTED, FLAT, MIXED], ids=["nested", "flat", "mixed"])
@pytest.mark.parametrize(
    ("rule", "creds", "expected"),
    [
        ("user_id:%(target.user.id)s", {"user_id": "u1"}, True),
        ("user_id:%(target.user.id)s", {"user_id": "u2"}, False),
        ("domain_id:%(target.user.domain_id)s", {"domain_id": "D"}, True),
        ("domain_id:%(target.domain_id)s", {"domain_id": "E"}, False),
        (
            "user_id:%(target.user.id)s and domain_id:%(target.domain_id)s",
            {"user_id": "u1", "domain_id": "D"},
            True,
        ),
    ],
)
def test_substitutions_from_nested_and_flat_targets(
    target: dict[str, Any], rule: str, creds: dict[str, Any], expected: bool
) -> None:
    assert check(rule, creds, target) is expected


def test_top_level_target_key() -> None:
    assert check("user_id:%(user_id)s", {"user_id": "u1"}, NESTED) is True


@pytest.mark.parametrize(
    "target",
    [
        {},
        {"target": {}},
        {"target": {"user": {}}},
        {"target": {"user": "not-a-mapping"}},
        {"target": None},
        {"target.user": "u1"},
    ],
)
def test_missing_target_paths_never_match_and_never_raise(target: dict[str, Any]) -> None:
    assert check("user_id:%(target.user.id)s", {"user_id": "u1"}, target) is False
    assert check("not user_id:%(target.user.id)s", {"user_id": "u1"}, target) is True


def test_none_on_both_sides_is_not_a_match() -> None:
    """oslo renders both as "None" and lets a project token match a domainless target."""
    target = {"target": {"domain_id": None}}
    assert check("domain_id:%(target.domain_id)s", {"domain_id": None}, target) is False


def test_literal_on_the_left() -> None:
    target = {"target": {"role": {"name": "member", "domain_id": None}, "user": {"enabled": True}}}
    assert check("'member':%(target.role.name)s", {}, target) is True
    assert check("'admin':%(target.role.name)s", {}, target) is False
    assert check("True:%(target.user.enabled)s", {}, target) is True
    assert check("False:%(target.user.enabled)s", {}, target) is False
    assert check("None:%(target.role.domain_id)s", {}, target) is True
    assert check("None:%(target.role.name)s", {}, target) is False
    assert check("None:%(target.role.missing)s", {}, target) is False


def test_substitution_inside_text() -> None:
    target = {"target": {"n": 7}}
    assert check("project_id:proj-%(target.n)s", {"project_id": "proj-7"}, target) is True
    assert check("project_id:proj-%(target.n)s", {"project_id": "proj-8"}, target) is False
    assert check("project_id:proj-%(target.x)s", {"project_id": "proj-"}, target) is False


def test_rule_references() -> None:
    enforcer = Enforcer(
        {
            "admin": "role:admin",
            "owner": "user_id:%(target.user.id)s",
            "admin_or_owner": "rule:admin or rule:owner",
            "dangling": "rule:nowhere or role:x",
        }
    )
    target = {"target": {"user": {"id": "u1"}}}
    assert enforcer.allowed("admin_or_owner", target, {"user_id": "u1", "roles": []})
    assert enforcer.allowed("admin_or_owner", target, {"user_id": "u2", "roles": ["admin"]})
    assert not enforcer.allowed("admin_or_owner", target, {"user_id": "u2", "roles": []})
    # a reference to a rule nobody defined fails closed, as in oslo
    assert not enforcer.allowed("dangling", {}, roles())
    assert enforcer.allowed("dangling", {}, roles("x"))


@pytest.mark.parametrize(
    "rule",
    [
        "(role:a",
        "role:a)",
        "role:a and",
        "or role:a",
        "not",
        "()",
        "role:a role:b",
        "role:a not role:b",
        "admin",
        ":admin",
        "role:",
        "rule:",
        "user_id:",
        "user_id:%(target.id)d",
        "user_id:%(target..id)s",
        "bad(kind:x",
        "'quoted'",
        "http://policy.example/check",
    ],
)
def test_syntax_errors_raise_at_load(rule: str) -> None:
    with pytest.raises(PolicyError, match="'r'"):
        Enforcer({"r": rule})


def test_non_string_rule_is_an_error() -> None:
    with pytest.raises(PolicyError):
        Enforcer({"r": ["role:admin"]})  # type: ignore[dict-item]


def test_register_is_all_or_nothing() -> None:
    enforcer = Enforcer({})
    with pytest.raises(PolicyError):
        enforcer.register({"good": "@", "bad": "role:a and"})
    with pytest.raises(KeyError):
        enforcer.allowed("good", {}, {})


def test_reference_loops_are_rejected() -> None:
    with pytest.raises(PolicyError, match="loop"):
        Enforcer({"a": "rule:b", "b": "role:x or rule:a"})
    with pytest.raises(PolicyError, match="loop"):
        Enforcer({"a": "rule:a"})
    enforcer = Enforcer({"a": "rule:b"})
    with pytest.raises(PolicyError, match="loop"):
        enforcer.register({"b": "rule:a"})


def test_services_register_their_own_defaults() -> None:
    enforcer = Enforcer({"base": "role:admin"})
    enforcer.register({"compute:start": "rule:base"})
    assert enforcer.allowed("compute:start", {}, roles("admin"))
    enforcer.register({"base": "role:admin"})  # the same text again is harmless
    with pytest.raises(PolicyError, match="twice"):
        enforcer.register({"base": "role:member"})


def test_unregistered_rule_is_a_key_error() -> None:
    enforcer = Enforcer({"known": "@"})
    with pytest.raises(KeyError):
        enforcer.allowed("identity:no_such_thing", {}, {})
    with pytest.raises(KeyError):
        enforcer.authorize("identity:no_such_thing", {}, {})


def test_authorize() -> None:
    enforcer = Enforcer({"identity:thing": "role:admin"})
    enforcer.authorize("identity:thing", {}, roles("admin"))
    with pytest.raises(PolicyNotAuthorized) as caught:
        enforcer.authorize("identity:thing", {}, roles("member"))
    assert caught.value.rule == "identity:thing"
    assert "identity:thing" in str(caught.value)


def test_scope_types() -> None:
    enforcer = Enforcer(
        {"create_service": "role:admin", "get_user": "role:admin"},
        scope_types={"create_service": ("system", "project")},
    )
    system = {"roles": ["admin"], "system_scope": "all", "domain_id": None}
    domain = {"roles": ["admin"], "system_scope": None, "domain_id": "D"}
    project = {"roles": ["admin"], "system_scope": None, "domain_id": None, "project_id": "p"}
    assert enforcer.allowed("create_service", {}, system)
    assert enforcer.allowed("create_service", {}, project)
    assert not enforcer.allowed("create_service", {}, domain)
    assert enforcer.allowed("get_user", {}, domain)


@pytest.mark.parametrize(
    "scope_types",
    [{"r": ("galaxy",)}, {"r": "system"}, {"unregistered": ("system",)}],
)
def test_bad_scope_types(scope_types: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        Enforcer({"r": "@"}, scope_types=scope_types)


# --- policy files ---------------------------------------------------------------------


def test_policy_file_overrides_and_adds(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('"base": "role:operator"\n"helper": "role:auditor"\n"list": "rule:helper"\n')
    enforcer = Enforcer({"base": "role:admin", "list": "rule:base"}, policy)
    assert enforcer.allowed("base", {}, roles("operator"))
    assert not enforcer.allowed("base", {}, roles("admin"))
    assert enforcer.allowed("list", {}, roles("auditor"))
    # a rule only the file defines can be referenced but not enforced directly
    with pytest.raises(KeyError):
        enforcer.allowed("helper", {}, roles("auditor"))


def test_policy_file_in_json(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"base": "role:operator"}))
    assert Enforcer({"base": "role:admin"}, policy).allowed("base", {}, roles("operator"))


@pytest.mark.parametrize(
    "content", [None, "", "# only a comment\n"], ids=["missing", "empty", "comment"]
)
def test_missing_or_empty_policy_file(tmp_path: Path, content: str | None) -> None:
    policy = tmp_path / "policy.yaml"
    if content is not None:
        policy.write_text(content)
    assert Enforcer({"base": "role:admin"}, policy).allowed("base", {}, roles("admin"))


@pytest.mark.parametrize(
    "content",
    ['"base": "role:admin and"\n', "- base\n", '"base": ["role:admin"]\n', "base: [unclosed\n"],
    ids=["bad-rule", "not-a-mapping", "list-syntax", "bad-yaml"],
)
def test_bad_policy_file_raises_at_load(tmp_path: Path, content: str) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(content)
    with pytest.raises(PolicyError, match="policy file"):
        Enforcer({"base": "role:admin"}, policy)


def test_policy_file_reloads_when_it_changes(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('"base": "role:operator"\n')
    enforcer = Enforcer({"base": "role:admin"}, policy)
    enforcer.reload_interval = 0
    assert enforcer.allowed("base", {}, roles("operator"))

    policy.write_text('"base": "role:auditor"\n')
    assert enforcer.allowed("base", {}, roles("auditor"))
    assert not enforcer.allowed("base", {}, roles("operator"))

    # a broken edit is logged and the previous rules stay in force
    policy.write_text('"base": "role:auditor or"\n')
    assert enforcer.allowed("base", {}, roles("auditor"))

    policy.unlink()  # back to the registered defaults
    assert enforcer.allowed("base", {}, roles("admin"))

    policy.write_text('"base": "role:operator"\n')  # a file that appears later counts
    assert enforcer.allowed("base", {}, roles("operator"))


def test_policy_file_is_checked_at_most_once_per_interval(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('"base": "role:operator"\n')
    enforcer = Enforcer({"base": "role:admin"}, policy)
    assert enforcer.reload_interval == 1.0
    policy.write_text('"base": "role:auditor"\n')
    assert enforcer.allowed("base", {}, roles("operator"))  # within the second: not re-read


# --- Keystone's defaults, per persona -------------------------------------------------

ADMIN_USER = "u-admin"
PROJECT_ADMIN = {
    "user_id": ADMIN_USER,
    "user_domain_id": "default",
    "project_id": "p-admin",
    "project_domain_id": "default",
    "domain_id": None,
    "system_scope": None,
    "roles": ["admin", "member", "reader"],
    "is_admin": False,
    "service_roles": [],
}
PROJECT_MEMBER = {
    **PROJECT_ADMIN,
    "user_id": "u-member",
    "project_id": "p-demo",
    "roles": ["member", "reader"],
}
SYSTEM_READER = {
    **PROJECT_ADMIN,
    "user_id": "u-auditor",
    "project_id": None,
    "project_domain_id": None,
    "system_scope": "all",
    "roles": ["reader"],
}
DOMAIN_READER = {**SYSTEM_READER, "system_scope": None, "domain_id": "D"}
DOMAIN_MANAGER = {**DOMAIN_READER, "roles": ["manager", "member", "reader"]}
DOMAIN_ADMIN = {**DOMAIN_READER, "roles": ["admin", "manager", "member", "reader"]}

NEW_PROJECT = {"target": {"project": {"domain_id": "default"}}}


@pytest.fixture(scope="module")
def keystone() -> Enforcer:
    return Enforcer(DEFAULTS, scope_types=SCOPE_TYPES)


def test_defaults_are_keystone_names(keystone: Enforcer) -> None:
    base = {
        "admin_required",
        "service_role",
        "service_or_admin",
        "owner",
        "admin_or_owner",
        "token_subject",
        "admin_or_token_subject",
        "service_admin_or_token_subject",
        "domain_managed_target_role",
    }
    assert {name for name in DEFAULTS if not name.startswith("identity:")} == base
    assert set(SCOPE_TYPES) <= set(DEFAULTS)


def test_project_admin(keystone: Enforcer) -> None:
    assert keystone.allowed("identity:list_users", {}, PROJECT_ADMIN)
    assert keystone.allowed("identity:create_project", NEW_PROJECT, PROJECT_ADMIN)
    assert keystone.allowed("identity:create_domain", {}, PROJECT_ADMIN)
    assert keystone.allowed("identity:create_service", {}, PROJECT_ADMIN)


def test_project_member(keystone: Enforcer) -> None:
    assert not keystone.allowed("identity:list_users", {}, PROJECT_MEMBER)
    assert not keystone.allowed("identity:create_project", NEW_PROJECT, PROJECT_MEMBER)
    own_token = {"target": {"token": {"user_id": "u-member"}}}
    other_token = {"target": {"token": {"user_id": ADMIN_USER}}}
    assert keystone.allowed("identity:validate_token", own_token, PROJECT_MEMBER)
    assert keystone.allowed("identity:revoke_token", own_token, PROJECT_MEMBER)
    assert not keystone.allowed("identity:validate_token", other_token, PROJECT_MEMBER)
    own_project = {"target": {"project": {"id": "p-demo", "domain_id": "default"}}}
    other_project = {"target": {"project": {"id": "p-admin", "domain_id": "default"}}}
    assert keystone.allowed("identity:get_project", own_project, PROJECT_MEMBER)
    assert not keystone.allowed("identity:get_project", other_project, PROJECT_MEMBER)
    assert keystone.allowed("identity:get_auth_catalog", {}, PROJECT_MEMBER)


def test_system_reader(keystone: Enforcer) -> None:
    assert keystone.allowed("identity:list_users", {}, SYSTEM_READER)
    assert keystone.allowed("identity:list_projects", {}, SYSTEM_READER)
    assert keystone.allowed("identity:list_services", {}, SYSTEM_READER)
    assert not keystone.allowed("identity:create_project", NEW_PROJECT, SYSTEM_READER)
    assert not keystone.allowed("identity:create_user", {"target": {"user": {}}}, SYSTEM_READER)
    assert not keystone.allowed("identity:create_service", {}, SYSTEM_READER)


def test_domain_reader(keystone: Enforcer) -> None:
    assert keystone.allowed("identity:list_users", {"target": {"domain_id": "D"}}, DOMAIN_READER)
    assert keystone.allowed("identity:list_users", {"target.domain_id": "D"}, DOMAIN_READER)
    assert not keystone.allowed(
        "identity:list_users", {"target": {"domain_id": "E"}}, DOMAIN_READER
    )
    assert not keystone.allowed("identity:list_users", {}, DOMAIN_READER)
    user_in_d = {"target": {"user": {"id": "u9", "domain_id": "D"}}}
    assert keystone.allowed("identity:get_user", user_in_d, DOMAIN_READER)
    assert not keystone.allowed("identity:update_user", user_in_d, DOMAIN_READER)


def test_domain_scoped_admin_is_held_to_scope_types(keystone: Enforcer) -> None:
    assert keystone.allowed("identity:list_users", {}, DOMAIN_ADMIN)
    assert not keystone.allowed("identity:create_domain", {}, DOMAIN_ADMIN)
    assert not keystone.allowed("identity:create_endpoint", {}, DOMAIN_ADMIN)


def test_domain_manager(keystone: Enforcer) -> None:
    in_d = {"target": {"project": {"domain_id": "D"}}}
    in_e = {"target": {"project": {"domain_id": "E"}}}
    assert keystone.allowed("identity:create_project", in_d, DOMAIN_MANAGER)
    assert not keystone.allowed("identity:create_project", in_e, DOMAIN_MANAGER)
    assert keystone.allowed("identity:list_roles", {}, DOMAIN_MANAGER)
    assert not keystone.allowed("identity:list_roles", {}, {**PROJECT_MEMBER, "roles": ["manager"]})

    def grant(role: str, user_domain: str = "D") -> dict[str, Any]:
        return {
            "target": {
                "role": {"name": role, "domain_id": None},
                "user": {"domain_id": user_domain},
                "project": {"domain_id": "D"},
            }
        }

    assert keystone.allowed("identity:create_grant", grant("member"), DOMAIN_MANAGER)
    assert not keystone.allowed("identity:create_grant", grant("admin"), DOMAIN_MANAGER)
    assert not keystone.allowed("identity:create_grant", grant("member", "E"), DOMAIN_MANAGER)


def test_grants_of_domain_roles(keystone: Enforcer) -> None:
    def grant(role_domain: str | None) -> dict[str, Any]:
        return {
            "target": {
                "role": {"name": "custom", "domain_id": role_domain},
                "group": {"domain_id": "D"},
                "domain": {"id": "D"},
            }
        }

    # a domain reader sees grants of global roles and of its domain's roles only
    assert keystone.allowed("identity:check_grant", grant(None), DOMAIN_READER)
    assert keystone.allowed("identity:check_grant", grant("D"), DOMAIN_READER)
    assert not keystone.allowed("identity:check_grant", grant("E"), DOMAIN_READER)
    assert not keystone.allowed("identity:create_grant", grant("D"), DOMAIN_READER)
    # as upstream, the admin role is cloud-wide wherever it was granted
    assert keystone.allowed("identity:create_grant", grant("E"), DOMAIN_ADMIN)
