"""Queries for kill switches. There is deliberately no function that updates or deletes audit rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import and_, delete, select
from sqlmodel import Session, col

from storage.dialect import upsert_insert
from storage.flags_models import SCOPE_DIMENSIONS, Flag, FlagAudit, FlagRequest, FlagRule, FlagVersion


def scope_json(scope: dict[str, str]) -> str:
    """The canonical text of a scope (sorted keys), as stored in audit rows and requests."""
    return orjson.dumps({k: scope[k] for k in sorted(scope)}).decode()


def get_version(*, session: Session) -> int:
    """The deployment's flag version; 0 before the first toggle."""
    value = session.execute(select(FlagVersion.version).where(FlagVersion.id == 1)).scalar()
    return int(value or 0)


def bump_version(*, session: Session) -> int:
    """Increment the version in the caller's transaction, so every replica sees the toggle at commit."""
    conn = session.connection()
    table = FlagVersion.__table__
    stmt = upsert_insert(conn, table).values(id=1, version=1)
    stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={"version": table.c.version + 1})
    return int(conn.execute(stmt.returning(table.c.version)).scalar_one())


def get_flag(*, session: Session, key: str) -> Flag | None:
    return session.get(Flag, key)


def list_flags(*, session: Session) -> list[Flag]:
    return list(session.execute(select(Flag).order_by(Flag.key)).scalars())


def upsert_config_flag(
    *, session: Session, key: str, description: str, owner: str, require_second_approver: bool, now: datetime
) -> bool:
    """Create or refresh a flag from the config file; True when it changed (or is new)."""
    flag = session.get(Flag, key)
    if flag is None:
        session.add(
            Flag(
                key=key,
                description=description,
                owner=owner,
                source="config",
                require_second_approver=require_second_approver,
                created_by="config",
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        return True
    wanted = (description, owner, require_second_approver)
    if (flag.description, flag.owner, flag.require_second_approver) == wanted:
        return False
    flag.description, flag.owner, flag.require_second_approver = wanted
    flag.updated_at = now
    session.add(flag)
    return True


def create_flag(*, session: Session, key: str, description: str, owner: str, created_by: str, now: datetime) -> Flag:
    flag = Flag(
        key=key,
        description=description,
        owner=owner,
        source="slack",
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(flag)
    session.flush()
    return flag


def list_rules(*, session: Session, flag_key: str | None = None) -> list[FlagRule]:
    stmt = select(FlagRule).order_by(FlagRule.flag_key, FlagRule.id)
    if flag_key is not None:
        stmt = stmt.where(FlagRule.flag_key == flag_key)
    return list(session.execute(stmt).scalars())


def _rule_match(scope: dict[str, str]) -> list:
    return [getattr(FlagRule, d) == scope.get(d, "") for d in SCOPE_DIMENSIONS]


def add_rule(*, session: Session, flag_key: str, scope: dict[str, str], created_by: str, now: datetime) -> bool:
    """Add a kill; False when the same kill is already active (another replica or person won)."""
    conn = session.connection()
    table = FlagRule.__table__
    values = {d: scope.get(d, "") for d in SCOPE_DIMENSIONS}
    stmt = upsert_insert(conn, table).values(flag_key=flag_key, created_by=created_by, created_at=now, **values)
    stmt = stmt.on_conflict_do_nothing()
    return conn.execute(stmt.returning(table.c.id)).first() is not None


def remove_rules(*, session: Session, flag_key: str, scope: dict[str, str] | None) -> int:
    """Remove one kill (``scope``) or every kill of the flag (``None``); returns how many were active."""
    conds = [FlagRule.flag_key == flag_key]
    if scope is not None:
        conds += _rule_match(scope)
    return session.execute(delete(FlagRule).where(and_(*conds))).rowcount or 0


def append_audit(*, session: Session, row: FlagAudit) -> FlagAudit:
    """Add an audit row; rows are never updated or deleted afterwards."""
    session.add(row)
    session.flush()
    return row


def list_audit(*, session: Session, flag_key: str, limit: int = 20) -> list[FlagAudit]:
    stmt = (
        select(FlagAudit)
        .where(FlagAudit.flag_key == flag_key)
        .order_by(col(FlagAudit.at).desc(), col(FlagAudit.id).desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def create_request(*, session: Session, request: FlagRequest) -> FlagRequest:
    session.add(request)
    session.flush()
    return request


def decide_request(*, session: Session, request_id: int, status: str, by: str, now: datetime) -> FlagRequest | None:
    """Move a pending request to ``status``; None when it was not pending (already decided elsewhere)."""
    stmt = (
        FlagRequest.__table__.update()
        .where(FlagRequest.__table__.c.id == request_id, FlagRequest.__table__.c.status == "pending")
        .values(status=status, decided_by=by, decided_at=now)
    )
    if (session.execute(stmt).rowcount or 0) == 0:
        return None
    request = session.get(FlagRequest, request_id)
    if request is not None:
        session.refresh(request)
    return request


def get_request(*, session: Session, request_id: int) -> FlagRequest | None:
    return session.get(FlagRequest, request_id)


def list_pending_requests(*, session: Session, flag_keys: Sequence[str] | None = None) -> list[FlagRequest]:
    stmt = select(FlagRequest).where(FlagRequest.status == "pending").order_by(FlagRequest.id)
    if flag_keys is not None:
        stmt = stmt.where(col(FlagRequest.flag_key).in_(list(flag_keys)))
    return list(session.execute(stmt).scalars())
