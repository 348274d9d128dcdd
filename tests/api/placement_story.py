"""A small runner for declarative HTTP stories, in the spirit of gabbi.

A story is a YAML file: a list of steps, each one request and what its answer must be.

    defaults: {version: "1.39"}          # OpenStack-API-Version for every step
    steps:
      - name: create a provider
        POST: /resource_providers
        body: {name: cn1, uuid: $uuid(cn1)}
        status: 200                      # default 200
        expect:                          # JSON paths ($.a.b[0]) → value
          $.name: cn1
          $.links: {len: 6}              # a length
          $.parent_provider_uuid: null
          $.root_provider_uuid: /^[0-9a-f-]{36}$/   # a regular expression
          $.missing: <absent>
        code: placement.concurrent_update           # shorthand for $.errors[0].code
        headers: {openstack-api-version: placement 1.39}
        save: {gen: $.generation}        # then "$gen" anywhere in later steps

``$uuid(label)`` is a UUID fixed per label within the story. A string that is exactly
one token keeps the saved value's type (``resource_provider_generation: $gen``).
Steps may set ``version`` (or ``version: null`` for none), ``headers_in`` (extra
request headers), ``data`` (a raw body) and ``token: none``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
ABSENT = "<absent>"
_TOKEN = re.compile(r"\$uuid\((\w+)\)|\$(\w+)")
_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_MISSING = object()


class Story:
    """One story file being run against one client."""

    def __init__(self, path: Path, client: httpx.AsyncClient, token: str) -> None:
        self.path = path
        self.client = client
        self.token = token
        self.saved: dict[str, Any] = {}
        self.uuids: dict[str, str] = {}

    def substitute(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {self.substitute(k): self.substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = _TOKEN.fullmatch(value)
        if whole:
            return self._value(whole)
        return _TOKEN.sub(lambda match: str(self._value(match)), value)

    def _value(self, match: re.Match[str]) -> Any:
        label, name = match.groups()
        if label:
            return self.uuids.setdefault(label, str(uuid.uuid4()))
        if name not in self.saved:
            raise AssertionError(f"{self.path.name}: ${name} was never saved")
        return self.saved[name]

    async def run(self) -> None:
        document = yaml.safe_load(self.path.read_text())
        defaults = document.get("defaults", {})
        for number, step in enumerate(document["steps"], 1):
            await self.step({**defaults, **step}, f"{self.path.name} step {number}")

    async def step(self, step: dict[str, Any], where: str) -> None:
        method = next(m for m in METHODS if m in step)
        where = f"{where} ({step.get('name', '')}): {method} {step[method]}"
        headers = {k: str(v) for k, v in self.substitute(step.get("headers_in", {})).items()}
        if step.get("version"):
            headers["OpenStack-API-Version"] = f"placement {step['version']}"
        if step.get("token") != "none":
            headers["X-Auth-Token"] = self.token
        request: dict[str, Any] = {"headers": headers}
        if "body" in step:
            request["json"] = self.substitute(step["body"])
        elif "data" in step:
            request["content"] = self.substitute(step["data"])
        response = await self.client.request(method, self.substitute(step[method]), **request)
        expected_status = step.get("status", 200)
        assert response.status_code == expected_status, f"{where}: {response.text}"
        self.check(step, response, where)

    def check(self, step: dict[str, Any], response: httpx.Response, where: str) -> None:
        expectations = dict(step.get("expect", {}))
        if "code" in step:
            expectations["$.errors[0].code"] = step["code"]
        if "detail" in step:
            expectations["$.errors[0].detail"] = step["detail"]
        body = response.json() if expectations or step.get("save") else None
        for path, expected in self.substitute(expectations).items():
            _compare(_lookup(body, path), expected, f"{where}: {path}", body)
        for name, value in self.substitute(step.get("headers", {})).items():
            actual = response.headers.get(name, ABSENT)
            _compare(actual, value, f"{where}: header {name}", dict(response.headers))
        for name, path in step.get("save", {}).items():
            self.saved[name] = _lookup(body, path)


def _lookup(body: Any, path: str) -> Any:
    """The value at a ``$.a.b[0]`` path, or _MISSING."""
    assert path.startswith("$"), path
    value = body
    for key, index in _PATH_PART.findall(path[1:]):
        if key:
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        else:
            position = int(index)
            ok = isinstance(value, list) and position < len(value)
            value = value[position] if ok else _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def _compare(actual: Any, expected: Any, where: str, context: Any) -> None:
    if expected == ABSENT:
        assert actual is _MISSING or actual == ABSENT, f"{where}: present in {context}"
        return
    assert actual is not _MISSING and actual != ABSENT, f"{where}: absent from {context}"
    if isinstance(expected, dict) and set(expected) == {"len"}:
        assert len(actual) == expected["len"], f"{where}: {actual!r} is not {expected}"
    elif isinstance(expected, str) and len(expected) > 1 and expected[0] == expected[-1] == "/":
        assert re.search(expected[1:-1], str(actual)), f"{where}: {actual!r} !~ {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


async def run_story(path: Path, client: httpx.AsyncClient, token: str) -> None:
    await Story(path, client, token).run()
