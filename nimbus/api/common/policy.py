"""Policy enforcement in oslo.policy's rule language, without oslo.policy.

oslo.policy drags in oslo.config and friends, which alone would spend a good part of our
cold-start and memory budget, so this module implements its rule language directly.
Operators' existing ``policy.yaml`` files keep working:

- ``@`` or an empty rule always passes, ``!`` never does;
- ``rule:NAME`` evaluates another rule (an undefined one fails closed, as oslo does);
- ``role:NAME`` passes when the caller has that role, compared case-insensitively;
- ``kind:match`` is a generic check.  ``kind`` is a (dotted) credential attribute,
  or a literal (``True``, ``False``, ``None``, a number, a quoted string) to compare
  with the match.  ``match`` is a literal (quotes optional) or contains
  ``%(dotted.path)s`` substitutions from the target.  A list-valued credential
  (``roles``) passes when any element matches;
- ``not``, ``and``, ``or`` (binding in that order, tightest first) and parentheses.

Where oslo.policy is lenient or surprising we choose to fail loudly or closed:

- a rule that does not parse raises `PolicyError` when it is loaded (oslo logs the
  error and turns the rule into ``!``), so a typo never surfaces as a request-time 403;
- a target path that is missing never matches, and neither does a substituted value of
  ``None`` when compared with a credential: oslo renders both sides as the string
  ``"None"`` and so lets a project-scoped token (``domain_id`` None) satisfy
  ``domain_id:%(target.domain_id)s`` for a target without a domain.  An explicit
  ``None`` literal still works (Keystone writes ``not domain_id:None`` and
  ``None:%(target.role.domain_id)s``);
- booleans compare by truth, so ``is_admin:1`` and ``is_admin:True`` mean the same
  (oslo compares ``str(True)`` with ``"1"``, which leaves Keystone's ``is_admin:1``
  unable to match anything);
- ``http:`` checks (a remote call per decision) are rejected.

Upstream (since oslo.policy 6.0) always enforces a rule's *scope types* as well as its
check string; `Enforcer` does the same when given ``scope_types``.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

LOG = logging.getLogger(__name__)

_SCOPES = frozenset({"system", "domain", "project"})


class PolicyError(ValueError):
    """A rule, rule set or policy file is malformed; raised when it is loaded."""


class PolicyNotAuthorized(Exception):
    """The caller's credentials do not satisfy the rule guarding an operation."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"Policy doesn't allow {rule} to be performed.")
        self.rule = rule


# --- values: the two sides of a check -------------------------------------------------

_MISSING: Any = object()
"""What a lookup returns for an absent path (told apart from None by identity)."""

_PLACEHOLDER = re.compile(r"%\(([^()%\s]+)\)s")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_PATH = re.compile(r"[\w-]+(\.[\w-]+)*")
_RULE_NAME = re.compile(r"[^\s()'\"%]+")
_TRUTHS = {"true": True, "1": True, "false": False, "0": False}
_KEYWORDS = {"True": True, "False": False, "None": None}


@dataclass(frozen=True, slots=True)
class _Path:
    """A dotted path, with every way to split it into a key and a rest precomputed.

    Lookups try the longest key first, so that a flattened dict (Keystone flattens its
    targets into ``{"target.user.id": ...}``), a nested one, or a mix all work.
    """

    splits: tuple[tuple[str, _Path | None], ...]


@functools.cache
def _path(segments: tuple[str, ...]) -> _Path:
    return _Path(
        tuple(
            (".".join(segments[:cut]), _path(segments[cut:]) if cut < len(segments) else None)
            for cut in range(len(segments), 0, -1)
        )
    )


def _lookup(data: Any, path: _Path) -> Any:
    """The value at ``path`` in nested and/or flattened mappings, or `_MISSING`."""
    if type(data) is not dict and not isinstance(data, Mapping):
        return _MISSING
    for key, rest in path.splits:
        value = data.get(key, _MISSING)
        if value is _MISSING:
            continue
        if rest is None:
            return value
        value = _lookup(value, rest)
        if value is not _MISSING:
            return value
    return _MISSING


def _literal(text: str) -> Any:
    """The value a literal in a rule stands for, or `_MISSING` for a bare word.

    Quoted strings lose their quotes, ``True``/``False``/``None`` become those values;
    numbers stay text, since both sides are compared as strings anyway (and turning
    ``0123`` into 123 would break IDs that look numeric).
    """
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in _KEYWORDS:
        return _KEYWORDS[text]
    if _NUMBER.fullmatch(text):
        return text
    return _MISSING


def _truth(value: Any) -> bool | None:
    """The boolean a value stands for (True, 1, "true", "1"...), None if it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return _TRUTHS.get(value.lower())
    return None


def _equal(actual: Any, expected: Any, *, none_is_value: bool) -> bool:
    """Compare a check's two sides the way oslo does (as strings), minus its pitfalls.

    ``none_is_value`` is True only when one side is a literal ``None`` written in the
    rule; otherwise a None on either side means "absent" and never matches.
    """
    if actual is None or expected is None:
        return none_is_value and actual is expected
    if isinstance(actual, bool) or isinstance(expected, bool):
        truth = _truth(actual)
        return truth is not None and truth is _truth(expected)
    return actual == expected or str(actual) == str(expected)


@dataclass(frozen=True, slots=True)
class _Const:
    """A match with no substitution."""

    value: Any

    def resolve(self, target: Mapping[str, Any]) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class _Substitution:
    """A match that is exactly one ``%(path)s``: the target's value, type preserved."""

    path: _Path

    def resolve(self, target: Mapping[str, Any]) -> Any:
        return _lookup(target, self.path)


@dataclass(frozen=True, slots=True)
class _Template:
    """A match mixing text and substitutions, e.g. ``compute:%(project_id)s``."""

    parts: tuple[str | _Path, ...]

    def resolve(self, target: Mapping[str, Any]) -> Any:
        rendered = []
        for part in self.parts:
            if isinstance(part, str):
                rendered.append(part)
                continue
            value = _lookup(target, part)
            if value is _MISSING or value is None:
                return _MISSING
            rendered.append(str(value))
        return "".join(rendered)


_Match = _Const | _Substitution | _Template


def _split_path(text: str, rule: str) -> _Path:
    if not _PATH.fullmatch(text):
        raise PolicyError(f"{text!r} is not a valid attribute path in rule {rule!r}")
    return _path(tuple(text.split(".")))


def _compile_match(text: str, rule: str, *, literal: bool) -> _Match:
    """Compile the right-hand side of a check; ``literal`` interprets constant text."""
    parts: list[str | _Path] = []
    position = 0
    for placeholder in _PLACEHOLDER.finditer(text):
        if placeholder.start() > position:
            parts.append(text[position : placeholder.start()])
        parts.append(_split_path(placeholder.group(1), rule))
        position = placeholder.end()
    if position < len(text):
        parts.append(text[position:])
    if any(isinstance(part, str) and "%" in part for part in parts):
        raise PolicyError(f"only %(path)s substitutions are supported, in rule {rule!r}")
    if not parts:
        raise PolicyError(f"a check needs a value after ':' in rule {rule!r}")
    if len(parts) == 1 and isinstance(parts[0], _Path):
        return _Substitution(parts[0])
    if len(parts) == 1 and isinstance(parts[0], str):
        value = _literal(parts[0]) if literal else _MISSING
        return _Const(parts[0] if value is _MISSING else value)
    return _Template(tuple(parts))


# --- checks: the nodes of a parsed rule ----------------------------------------------

_Rules = Mapping[str, "_Check"]


@dataclass(frozen=True, slots=True)
class _Always:
    """``@``/empty (True) or ``!`` (False)."""

    result: bool

    def evaluate(self, target: Mapping[str, Any], creds: Mapping[str, Any], rules: _Rules) -> bool:
        return self.result


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Check

    def evaluate(self, target: Mapping[str, Any], creds: Mapping[str, Any], rules: _Rules) -> bool:
        return not self.operand.evaluate(target, creds, rules)


@dataclass(frozen=True, slots=True)
class _And:
    operands: tuple[_Check, ...]

    def evaluate(self, target: Mapping[str, Any], creds: Mapping[str, Any], rules: _Rules) -> bool:
        for check in self.operands:  # noqa: SIM110  (no generator on the hot path)
            if not check.evaluate(target, creds, rules):
                return False
        return True


@dataclass(frozen=True, slots=True)
class _Or:
    operands: tuple[_Check, ...]

    def evaluate(self, target: Mapping[str, Any], creds: Mapping[str, Any], rules: _Rules) -> bool:
        for check in self.operands:  # noqa: SIM110  (no generator on the hot path)
            if check.evaluate(target, creds, rules):
                return True
        return False


@dataclass(frozen=True, slots=True)
class _RuleRef:
    """``rule:NAME``; looked up at evaluation so that overrides of NAME take effect."""

    name: str

    def evaluate(self, target: Mapping[str, Any], creds: Mapping[str, Any], rules: _Rules) -> bool:
        check = rules.get(self.name)
        return check is not None and check.evaluate(target, creds, rules)


@dataclass(frozen=True, slots=True)
class _Role:
    match: _Match

    def evaluate(self, target: Mapping[str, Any], creds: Mapping[str, Any], rules: _Rules) -> bool:
        wanted = self.match.resolve(target)
        if wanted is _MISSING or wanted is None:
            return False
        wanted = str(wanted).lower()
        return any(str(role).lower() == wanted for role in creds.get("roles") or ())


@dataclass(frozen=True, slots=True)
class _Generic:
    """``attribute:match`` (credential attribute on the left) or ``literal:match``."""

    match: _Match
    attribute: _Path | None
    left_literal: Any = None

    def evaluate(self, target: Mapping[str, Any], creds: Mapping[str, Any], rules: _Rules) -> bool:
        expected = self.match.resolve(target)
        if expected is _MISSING:
            return False
        if self.attribute is None:
            return _equal(self.left_literal, expected, none_is_value=True)
        actual = _lookup(creds, self.attribute)
        if actual is _MISSING:
            return False
        none_is_value = isinstance(self.match, _Const)
        if isinstance(actual, list | tuple | set | frozenset):
            return any(_equal(item, expected, none_is_value=none_is_value) for item in actual)
        return _equal(actual, expected, none_is_value=none_is_value)


_Check = _Always | _Not | _And | _Or | _RuleRef | _Role | _Generic

_ALWAYS = _Always(True)
_NEVER = _Always(False)


# --- parsing --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """A parsed rule: its text (to compare re-registrations), tree and references."""

    text: str
    check: _Check
    references: frozenset[str]


def _parse_check(token: str, rule: str, references: set[str]) -> _Check:
    if token == "@":
        return _ALWAYS
    if token == "!":
        return _NEVER
    kind, colon, match = token.partition(":")
    if not colon or not kind:
        raise PolicyError(f"{token!r} is not a check (expected kind:value) in rule {rule!r}")
    if kind == "rule":
        if not _RULE_NAME.fullmatch(match):
            raise PolicyError(f"{token!r} does not name a rule in rule {rule!r}")
        references.add(match)
        return _RuleRef(match)
    if kind == "role":
        return _Role(_compile_match(match, rule, literal=False))
    if kind in ("http", "https"):
        raise PolicyError(f"remote {kind}: checks are not supported, in rule {rule!r}")
    compiled = _compile_match(match, rule, literal=True)
    left = _literal(kind)
    if left is _MISSING:
        return _Generic(compiled, _split_path(kind, rule))
    return _Generic(compiled, None, left)


def _tokenize(rule: str, references: set[str]) -> Iterator[str | _Check]:
    """Split on whitespace, then peel parentheses off the ends of each word.

    As in oslo, parentheses inside a word belong to it: ``%(target.id)s`` is a
    substitution, not a group, which is why ``(`` is only split off the front and ``)``
    only off the back.
    """
    for word in rule.split():
        stripped = word.lstrip("(")
        yield from "(" * (len(word) - len(stripped))
        core = stripped.rstrip(")")
        if core.lower() in ("and", "or", "not"):
            yield core.lower()
        elif core:
            yield _parse_check(core, rule, references)
        yield from ")" * (len(stripped) - len(core))


class _Parser:
    """Recursive descent with oslo's precedence: ``not`` > ``and`` > ``or``."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.references: set[str] = set()
        self.tokens = list(_tokenize(rule, self.references))
        self.position = 0

    def parse(self) -> _Check:
        if not self.tokens:
            return _ALWAYS
        check = self._or()
        if self.position < len(self.tokens):
            self._fail(f"unexpected {self._describe(self.tokens[self.position])}")
        return check

    def _fail(self, problem: str) -> NoReturn:
        raise PolicyError(f"{problem} in rule {self.rule!r}")

    @staticmethod
    def _describe(token: str | _Check) -> str:
        return repr(token) if isinstance(token, str) else "check"

    def _peek(self) -> str | _Check | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _or(self) -> _Check:
        operands = [self._and()]
        while self._peek() == "or":
            self.position += 1
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else _Or(tuple(operands))

    def _and(self) -> _Check:
        operands = [self._not()]
        while self._peek() == "and":
            self.position += 1
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else _And(tuple(operands))

    def _not(self) -> _Check:
        if self._peek() == "not":
            self.position += 1
            return _Not(self._not())
        return self._atom()

    def _atom(self) -> _Check:
        token = self._peek()
        if token is None:
            self._fail("unexpected end")
        self.position += 1
        if token == "(":
            check = self._or()
            if self._peek() != ")":
                self._fail("missing ')'")
            self.position += 1
            return check
        if isinstance(token, str):
            self._fail(f"unexpected {token!r}")
        return token


def _parse_rule(text: str) -> _Rule:
    """Parse one rule string; raise `PolicyError` when it is malformed."""
    if not isinstance(text, str):
        raise PolicyError(f"a rule must be a string, not {type(text).__name__}: {text!r}")
    parser = _Parser(text)
    check = parser.parse()
    return _Rule(text, check, frozenset(parser.references))


def _find_cycle(rules: Mapping[str, _Rule]) -> list[str] | None:
    """A chain of ``rule:`` references that loops, if any (it would recurse forever)."""
    done: set[str] = set()

    def visit(name: str, chain: list[str]) -> list[str] | None:
        if name in chain:
            return [*chain[chain.index(name) :], name]
        if name in done or name not in rules:
            return None
        for reference in sorted(rules[name].references):
            cycle = visit(reference, [*chain, name])
            if cycle:
                return cycle
        done.add(name)
        return None

    for name in rules:
        cycle = visit(name, [])
        if cycle:
            return cycle
    return None


# --- the enforcer ---------------------------------------------------------------------


def _token_scope(creds: Mapping[str, Any]) -> str:
    """The scope of the caller's token, decided as oslo.policy decides it."""
    if creds.get("system_scope") == "all":
        return "system"
    if creds.get("domain_id"):
        return "domain"
    return "project"


class Enforcer:
    """Holds a service's rules: registered defaults overlaid with a policy file.

    Only names registered as defaults may be enforced (anything else is a programming
    error and raises KeyError); a policy file may override those and add helper rules
    for ``rule:`` references.  The file is re-read at most once per `reload_interval`
    seconds and takes effect when its content changed, so a request usually costs one
    clock read on top of evaluating its rule.
    """

    reload_interval: float = 1.0

    def __init__(
        self,
        defaults: Mapping[str, str],
        policy_file: Path | None = None,
        *,
        scope_types: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self._defaults: dict[str, _Rule] = {}
        self._overrides: dict[str, _Rule] = {}
        self._scope_types: dict[str, frozenset[str]] = {}
        self._rules: dict[str, _Check] = {}
        self._policy_file = policy_file
        self._file_text: str | None = None
        self._last_file_check = 0.0
        self.register(defaults, scope_types=scope_types)
        if policy_file is not None:
            self._file_text = self._read_policy_text()
            self._install(self._defaults, self._parse_policy_text(self._file_text))
            self._last_file_check = time.monotonic()

    def register(
        self,
        defaults: Mapping[str, str],
        *,
        scope_types: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Add default rules, and optionally the token scopes each may be used with.

        A rule without scope types accepts any token scope (as upstream).  Registering
        the same name again is allowed only with the same rule text, so that two
        services cannot silently fight over a name.
        """
        parsed = {}
        for name, text in defaults.items():
            try:
                parsed[name] = _parse_rule(text)
            except PolicyError as error:
                raise PolicyError(f"default rule {name!r}: {error}") from None
            known = self._defaults.get(name)
            if known is not None and known.text != text:
                raise PolicyError(f"rule {name!r} registered twice: {known.text!r} and {text!r}")
        scopes = {}
        for name, allowed in (scope_types or {}).items():
            if name not in parsed and name not in self._defaults:
                raise PolicyError(f"scope types given for unregistered rule {name!r}")
            if isinstance(allowed, str) or not set(allowed) <= _SCOPES:
                raise PolicyError(f"rule {name!r}: bad scope types {allowed!r}")
            scopes[name] = frozenset(allowed)
        self._install({**self._defaults, **parsed}, self._overrides)
        self._scope_types.update(scopes)

    def allowed(self, rule: str, target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
        """Whether ``creds`` may perform ``rule`` on ``target``; KeyError if unregistered."""
        self._maybe_reload()
        if rule not in self._defaults:
            raise KeyError(f"policy rule {rule!r} is not registered")
        scopes = self._scope_types.get(rule)
        if scopes is not None and _token_scope(creds) not in scopes:
            return False
        return self._rules[rule].evaluate(target, creds, self._rules)

    def authorize(self, rule: str, target: Mapping[str, Any], creds: Mapping[str, Any]) -> None:
        """Raise `PolicyNotAuthorized` unless `allowed`."""
        if not self.allowed(rule, target, creds):
            raise PolicyNotAuthorized(rule)

    def _install(self, defaults: dict[str, _Rule], overrides: dict[str, _Rule]) -> None:
        """Make a rule set current, after refusing one whose references loop."""
        effective = {**defaults, **overrides}
        cycle = _find_cycle(effective)
        if cycle:
            raise PolicyError("rules reference each other in a loop: " + " -> ".join(cycle))
        self._defaults, self._overrides = defaults, overrides
        self._rules = {name: rule.check for name, rule in effective.items()}

    def _read_policy_text(self) -> str | None:
        """The policy file's content, None when it does not exist."""
        assert self._policy_file is not None
        try:
            return self._policy_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise PolicyError(f"cannot read policy file {self._policy_file}: {error}") from None

    def _parse_policy_text(self, text: str | None) -> dict[str, _Rule]:
        """Parse the policy file (YAML, hence also JSON); no file means no rules."""
        if text is None:
            return {}
        path = self._policy_file

        import yaml  # only deployments with a policy file pay for the import

        try:
            content = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise PolicyError(f"policy file {path} is not valid YAML/JSON: {error}") from None
        if content is None:
            return {}
        if not isinstance(content, dict):
            raise PolicyError(f"policy file {path} must map rule names to rule strings")
        rules = {}
        for name, rule in content.items():
            try:
                rules[str(name)] = _parse_rule(rule)
            except PolicyError as error:
                raise PolicyError(f"policy file {path}, rule {name!r}: {error}") from None
        return rules

    def _maybe_reload(self) -> None:
        """Pick up a changed policy file; a broken edit keeps the previous rules.

        The content is compared rather than the mtime, which can miss two quick edits
        of the same size; reading a small file once per interval costs next to nothing.
        """
        if self._policy_file is None:
            return
        now = time.monotonic()
        if now - self._last_file_check < self.reload_interval:
            return
        self._last_file_check = now
        try:
            text = self._read_policy_text()
            if text == self._file_text:
                return
            self._file_text = text
            self._install(self._defaults, self._parse_policy_text(text))
        except PolicyError as error:
            LOG.error("Keeping the previous policy rules: %s", error)
            return
        LOG.info("Loaded policy file %s", self._policy_file)
