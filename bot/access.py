"""Who may do what: the ``[access]`` table maps a capability to Slack users and user groups."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.errors import PermissionDenied
from bot.services import Services

log = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 60.0

GroupMembers = Callable[[str], set[str]]
"""Resolves a user-group id (S…) to its members' user ids."""


class AccessChecker:
    """Checks capabilities; group membership comes from Slack and is cached for a minute,
    so a removal from the on-call group takes effect within a minute."""

    def __init__(self, services: Services, members_of: GroupMembers | None = None) -> None:
        self.services = services
        self.members_of = members_of
        self._cache: dict[str, tuple[float, set[str]]] = {}
        self._lock = threading.Lock()

    def _group(self, group_id: str) -> set[str]:
        with self._lock:
            hit = self._cache.get(group_id)
            if hit and time.monotonic() - hit[0] < GROUP_CACHE_SECONDS:
                return hit[1]
        if self.members_of is None:
            return set()
        try:
            members = self.members_of(group_id)
        except Exception:
            log.exception("could not list the members of user group %s; treating it as empty", group_id)
            return set()
        with self._lock:
            self._cache[group_id] = (time.monotonic(), members)
        return members

    def in_group(self, user_id: str, group_id: str) -> bool:
        """Membership of one Slack user group (cached like the rest), for settings that name a group directly."""
        return user_id in self._group(group_id)

    def allowed(self, user_id: str, capability: str) -> bool:
        entries = self.services.settings.file.access.get(capability, [])
        if user_id in entries:
            return True
        return any(user_id in self._group(e) for e in entries if e.startswith("S"))

    def require(self, user_id: str, capability: str) -> None:
        """Raise a user-facing refusal naming the capability and where it is granted."""
        if not self.allowed(user_id, capability):
            raise PermissionDenied(
                f"you need the '{capability}' access for this. It is granted in afterlaunch.toml under [access]."
            )


def slack_group_members(client: object) -> GroupMembers:
    """Group members through Slack's usergroups.users.list (scope usergroups:read)."""

    def members(group_id: str) -> set[str]:
        response = client.usergroups_users_list(usergroup=group_id)  # type: ignore[attr-defined]
        return set(response.get("users", []))

    return members


def channel_tenant(services: Services, channel_id: str | None) -> str | None:
    """The one tenant a channel is mapped to in ``[channels].tenant_channels``: it may see nothing of another."""
    if not channel_id:
        return None
    return services.settings.file.channels.tenant_channels.get(channel_id)
