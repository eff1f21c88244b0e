"""Ingest keys: shown once, stored as a hash, optionally bound to one tenant."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Connection, Row, text
from sqlmodel import Session, select

from storage.models import IngestKey

KEY_PREFIX = "al_"
SCOPES = frozenset({"ingest", "read", "flags"})


def hash_key(raw: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is enough (no salt/KDF needed).
    return hashlib.sha256(raw.encode()).hexdigest()


def create_key(
    *, session: Session, name: str, tenant: str | None, scopes: set[str], now: datetime
) -> tuple[IngestKey, str]:
    """Create a key; the raw secret is returned once and never stored."""
    unknown = scopes - SCOPES
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(SCOPES))}")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = IngestKey(
        name=name,
        prefix=raw[:10],
        key_hash=hash_key(raw),
        tenant=tenant,
        scopes=",".join(sorted(scopes)),
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key, raw


def get_active_key(*, session: Session, raw: str) -> IngestKey | None:
    key = session.exec(select(IngestKey).where(IngestKey.key_hash == hash_key(raw))).first()
    if key is None or key.revoked_at is not None:
        return None
    return key


def list_keys(*, session: Session) -> list[IngestKey]:
    return list(session.exec(select(IngestKey).order_by(IngestKey.id)))


def revoke_key(*, session: Session, key_id: int, now: datetime) -> IngestKey | None:
    key = session.get(IngestKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = now
        session.add(key)
    return key


_KEY_AND_FLAGS_VERSION = text(
    "SELECT k.scopes, k.tenant, k.revoked_at, (SELECT v.version FROM flag_versions v WHERE v.id = 1) AS version "
    "FROM ingest_keys k WHERE k.key_hash = :h"
)


def get_key_with_flags_version(*, connection: Connection, raw: str) -> Row | None:
    """A key's scopes, tenant and revocation with the deployment's flags version, in one statement:
    flag evaluation runs it on every request, so it skips the ORM."""
    return connection.execute(_KEY_AND_FLAGS_VERSION, {"h": hash_key(raw)}).first()
