"""Which tenants a place may see: a channel mapped in ``[channels].tenant_channels`` sees one, others all.

The scope is worked out once per command (``bot.slack.registry.run_command``) and travels in
the command's context; queries take their filters from ``TenantScope.where`` so that a
command cannot ask for another tenant's rows, and ``guard_reply`` refuses an answer that
still names another tenant.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import text

from bot.errors import UserError
from bot.services import Services

T = TypeVar("T")


class ScopeError(UserError):
    """A tenant channel asked for another tenant (or for figures that span tenants)."""


@dataclass(frozen=True)
class TenantScope:
    """``tenant`` None: every tenant (an ops channel); otherwise only that one."""

    tenant: str | None

    @property
    def all_tenants(self) -> bool:
        return self.tenant is None

    @property
    def tenants(self) -> set[str] | None:
        """The form ``bot/triage`` and ``storage.requests`` take: None for all, else a one-tenant set."""
        return None if self.tenant is None else {self.tenant}

    def where(self, cohort: Mapping[str, str] | None = None) -> dict[str, str]:
        """A query's filters with this scope's tenant in them; asking for another tenant is refused."""
        out = dict(cohort or {})
        if self.tenant is None:
            return out
        asked = out.get("tenant")
        if asked is not None and asked != self.tenant:
            raise ScopeError(f"this channel shows only tenant {self.tenant!r}; ask in an ops channel for others")
        out["tenant"] = self.tenant
        return out

    def allows(self, tenant: str | None) -> bool:
        return self.tenant is None or tenant == self.tenant

    def keep(self, items: Iterable[T], tenant_of: Callable[[T], str | None]) -> list[T]:
        """The items this scope may see (for lists read whole, such as budgets or alarms)."""
        return [i for i in items if self.allows(tenant_of(i))]

    def refuse_cross_tenant(self, what: str) -> None:
        """For views that only exist across tenants (provider bills): refused in a tenant channel."""
        if self.tenant is not None:
            raise ScopeError(f"{what} spans every tenant, so this channel (tenant {self.tenant!r}) cannot show it")


ALL_TENANTS = TenantScope(None)


def scope_for_channel(services: Services, channel_id: str | None) -> TenantScope:
    """The scope of a channel: its tenant from ``[channels].tenant_channels``, else all tenants."""
    return TenantScope(services.settings.file.channels.tenant_channels.get(channel_id or ""))


_KNOWN: dict[int, tuple[float, frozenset[str]]] = {}
_KNOWN_LOCK = threading.Lock()
KNOWN_TENANTS_SECONDS = 60.0


def known_tenants(services: Services) -> frozenset[str]:
    """Tenant names seen in the hourly rollups and the config, cached a minute (read per scoped reply)."""
    key = id(services)
    with _KNOWN_LOCK:
        hit = _KNOWN.get(key)
        if hit and time.monotonic() - hit[0] < KNOWN_TENANTS_SECONDS:
            return hit[1]
    with services.db.session() as session:
        rows = session.execute(text("SELECT DISTINCT tenant FROM rollup_hour")).all()
    names = frozenset(r[0] for r in rows if r[0]) | frozenset(services.settings.file.channels.tenant_channels.values())
    with _KNOWN_LOCK:
        _KNOWN[key] = (time.monotonic(), names)
    return names


def leaked_tenants(scope: TenantScope, reply_text: str, known: Iterable[str]) -> list[str]:
    """Other tenants' names that appear as whole words in a reply meant for ``scope``."""
    if scope.tenant is None:
        return []
    found = []
    for name in known:
        if name != scope.tenant and len(name) >= 3 and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", reply_text):
            found.append(name)
    return sorted(found)
