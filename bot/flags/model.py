"""What a flag is, how a kill is scoped, and how a flag evaluates for one evaluation context.

A flag's served value says whether the feature may run: ``true`` unless an
active kill matches the context. A kill with an empty scope matches everyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.errors import UserError
from storage.flags_models import SCOPE_DIMENSIONS

Scope = dict[str, str]
FLAG_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
MAX_VALUE = 128
AFTERLAUNCH = "afterlaunch"
"""The actor recorded for changes afterlaunch makes itself (auto-trips)."""


def parse_scope(tokens: list[str]) -> Scope:
    """``tenant=acme intent=billing`` -> a scope; names what is wrong otherwise."""
    scope: Scope = {}
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep:
            raise UserError(f"'{token}' is not a scope: write it as name=value, e.g. tenant=acme")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name not in SCOPE_DIMENSIONS:
            raise UserError(f"'{name}' cannot scope a kill; use one of: {', '.join(SCOPE_DIMENSIONS)}")
        if not value or len(value) > MAX_VALUE:
            raise UserError(f"{name}= needs a value of 1 to {MAX_VALUE} characters")
        if name in scope:
            raise UserError(f"{name}= is given twice; a kill matches one value per dimension")
        scope[name] = value
    return scope


def clean_scope(raw: Any) -> Scope:
    """A scope from JSON (a button value, modal metadata): only known dimensions with text values."""
    if not isinstance(raw, dict):
        raise UserError('the scope must be an object like {"tenant": "acme"}')
    bad = sorted(str(k) for k, v in raw.items() if not isinstance(v, str))
    if bad:
        raise UserError(f"the scope value of {', '.join(bad)} must be text")
    return parse_scope([f"{k}={v}" for k, v in raw.items()])


def describe_scope(scope: Scope | None) -> str:
    """How people read a scope: 'everywhere' or 'tenant=acme, intent=billing'."""
    if scope is None:
        return "every active kill"
    if not scope:
        return "everywhere"
    return ", ".join(f"{d}={scope[d]}" for d in SCOPE_DIMENSIONS if d in scope)


def check_flag_key(key: str) -> str:
    key = key.strip().lower()
    if not FLAG_KEY.match(key):
        raise UserError(f"'{key}' is not a flag key: lowercase letters, digits, '.', '_' or '-', at most 100")
    return key


@dataclass(frozen=True)
class FlagView:
    """A flag as served: what it is and its active kills."""

    key: str
    description: str = ""
    owner: str = ""
    require_second_approver: bool = False
    kills: tuple[Scope, ...] = ()

    def state(self) -> str:
        """'on', 'off everywhere' or 'off for tenant=acme; …' for cards and audit rows."""
        if not self.kills:
            return "on"
        if any(not k for k in self.kills):
            return "off everywhere"
        return "off for " + "; ".join(describe_scope(k) for k in self.kills)


@dataclass(frozen=True)
class Snapshot:
    """Every flag at one deployment version; immutable, shared by concurrent requests."""

    version: int
    flags: dict[str, FlagView] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    key: str
    value: bool
    reason: str
    variant: str
    metadata: dict[str, str | bool | int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "reason": self.reason,
            "variant": self.variant,
            "metadata": self.metadata,
        }


class EvaluationError(Exception):
    """An OFREP error: ``code`` is one of the protocol's error codes."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def parse_context(raw: Any, *, bound_tenant: str | None) -> Scope:
    """The targeting attributes of an OFREP context; the tenant is ``tenant`` or else ``targetingKey``.

    A key bound to a tenant evaluates as that tenant and may not ask about another.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise EvaluationError("INVALID_CONTEXT", "context must be a JSON object")
    attrs: Scope = {}
    for name in SCOPE_DIMENSIONS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise EvaluationError("INVALID_CONTEXT", f"context attribute '{name}' must be a string")
        if value:
            attrs[name] = value
    targeting_key = raw.get("targetingKey")
    if targeting_key is not None and not isinstance(targeting_key, str):
        raise EvaluationError("INVALID_CONTEXT", "targetingKey must be a string")
    if "tenant" not in attrs and targeting_key:
        attrs["tenant"] = targeting_key
    if bound_tenant is not None:
        if attrs.get("tenant", bound_tenant) != bound_tenant:
            raise EvaluationError("INVALID_CONTEXT", "this API key is bound to another tenant than the context's")
        attrs["tenant"] = bound_tenant
    return attrs


def evaluate(flag: FlagView, attrs: Scope) -> Evaluation:
    """Whether the feature may run for these attributes; a kill the context cannot be checked against is an error."""
    if not flag.kills:
        return Evaluation(flag.key, True, "STATIC", "on")
    if any(not kill for kill in flag.kills):
        return Evaluation(flag.key, False, "STATIC", "off", {"killed": "everywhere"})
    missing: set[str] = set()
    for kill in flag.kills:
        absent = [d for d in kill if d not in attrs]
        if not absent and all(attrs[d] == v for d, v in kill.items()):
            return Evaluation(flag.key, False, "TARGETING_MATCH", "off", {"killed": describe_scope(kill)})
        if absent and all(attrs[d] == v for d, v in kill.items() if d in attrs):
            missing.update(absent)
    if "tenant" in missing:
        raise EvaluationError(
            "TARGETING_KEY_MISSING",
            f"flag '{flag.key}' has tenant-scoped kills: send the tenant as targetingKey or the 'tenant' attribute",
        )
    if missing:
        names = ", ".join(sorted(missing))
        raise EvaluationError(
            "INVALID_CONTEXT", f"flag '{flag.key}' has kills scoped by {names}: send it in the context"
        )
    return Evaluation(flag.key, True, "DEFAULT", "on")
