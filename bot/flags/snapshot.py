"""The flags as served, cached in-process but never trusted past the database's version counter.

Every read checks the deployment-wide version (one primary-key lookup); a
toggle on any replica bumps it in the same transaction, so a stale snapshot is
never served after the toggle commits.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.access import AccessChecker
from bot.flags.model import FlagView, Snapshot
from bot.services import Services
from storage import flags as store

_SYNC_LOCK = threading.Lock()


def sync_config_flags(services: Services, now: datetime, *, force: bool = False) -> bool:
    """Upsert the ``[[flags]]`` of the config file into the database (once per process unless forced)."""
    runtime = runtime_for(services)
    with _SYNC_LOCK:
        if runtime.synced and not force:
            return False
        changed = False
        with services.db.write_session() as session:
            for cfg in services.settings.file.flags:
                changed |= store.upsert_config_flag(
                    session=session,
                    key=cfg.key,
                    description=cfg.description,
                    owner=cfg.owner or "",
                    require_second_approver=cfg.require_second_approver,
                    now=now,
                )
            if changed:
                store.bump_version(session=session)
        runtime.synced = True
        return changed


def load_snapshot(*, session: Session, version: int) -> Snapshot:
    """Read every flag and active kill; ``version`` was read first, so the data is at least that new."""
    kills: dict[str, list[dict[str, str]]] = {}
    for rule in store.list_rules(session=session):
        kills.setdefault(rule.flag_key, []).append(rule.scope())
    flags = {
        f.key: FlagView(
            key=f.key,
            description=f.description,
            owner=f.owner,
            require_second_approver=f.require_second_approver,
            kills=tuple(kills.get(f.key, ())),
        )
        for f in store.list_flags(session=session)
    }
    return Snapshot(version=version, flags=flags)


class SnapshotCache:
    """One per process: reloads only when the database version moved."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def at_version(self, services: Services, version: int) -> Snapshot:
        """The snapshot for a version already read; loads only when it moved (a toggle anywhere)."""
        current = self._snapshot
        if current is not None and current.version >= version:
            return current
        with services.db.session() as session:
            return self.get(session)

    def get(self, session: Session) -> Snapshot:
        version = store.get_version(session=session)
        current = self._snapshot
        if current is not None and current.version == version:
            return current
        with self._lock:
            current = self._snapshot
            if current is None or current.version != version:
                current = self._snapshot = load_snapshot(session=session, version=version)
            return current


@dataclass
class FlagRuntime:
    """Per-Services state of this capability: the served snapshot and whether config flags were synced."""

    cache: SnapshotCache = field(default_factory=SnapshotCache)
    synced: bool = False
    access: AccessChecker | None = None
    bulk: dict[str, bytes] = field(default_factory=dict)
    """Encoded OFREP bulk answers by ETag; the tag carries the version, so a toggle never serves an old one."""
    """Set by the Slack registrar: resolves user groups through Slack."""


def runtime_for(services: Services) -> FlagRuntime:
    """Kept on the Services object itself, so a new Services (a test, a replica) starts fresh."""
    runtime = services.__dict__.get("_flag_runtime")
    if runtime is None:
        runtime = services.__dict__.setdefault("_flag_runtime", FlagRuntime())
    return runtime


def current_snapshot(services: Services, now: datetime) -> Snapshot:
    """The flags now, straight from the database (Slack cards, exports)."""
    sync_config_flags(services, now)
    with services.db.session() as session:
        return load_snapshot(session=session, version=store.get_version(session=session))
