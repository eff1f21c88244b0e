"""Removing a drill's rows, so real tenants' figures, rollups and alarms are exactly as before.

Drill traffic lives under tenants named ``drill-<id>-<incident>``; rollups are keyed by tenant,
so deleting the drill tenants' rows takes their share out of every total. Drill alarms never
reach the alarm table (the drill evaluates detectors in dry runs and delivers its own cards).
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, text
from sqlalchemy import inspect as sa_inspect

from bot.drill.readiness import DRILL_PREFIX
from bot.services import Services
from storage.models import IngestKey, LLMRequest, RequestBody, RollupHour, RollupMinute
from storage.refusals_models import ModelSnapshot


def drill_tenant(run_id: str, incident: str) -> str:
    return f"{DRILL_PREFIX}{run_id}-{incident}"


_RESULTS_OF_DRILL_RUNS = "DELETE FROM eval_results WHERE run_id IN (SELECT id FROM eval_runs WHERE suite LIKE :p)"


def remove_drill_rows(services: Services, run_id: str) -> dict[str, int]:
    """Delete one drill's requests, bodies, rollups, model snapshots and its key; returns rows removed per table.

    The drill's last request row stays, without its body and outside every rollup, under its drill
    tenant: SQLite hands a deleted top id to the next insert, and the scanners that follow the
    requests table by id (refusal snapshots, the text index) would then skip the real requests
    that reused them.
    """
    like = f"{DRILL_PREFIX}{run_id}-%"
    removed: dict[str, int] = {}
    with services.db.write_session() as session:
        ids = select(LLMRequest.id).where(LLMRequest.tenant.like(like))  # type: ignore[union-attr]
        removed["request_bodies"] = session.exec(delete(RequestBody).where(RequestBody.id.in_(ids))).rowcount  # type: ignore[attr-defined,call-overload]
        top = session.exec(select(func.max(LLMRequest.id)).where(LLMRequest.tenant.like(like))).one()[0]  # type: ignore[union-attr,call-overload]
        stmt = delete(LLMRequest).where(LLMRequest.tenant.like(like), LLMRequest.id != top)  # type: ignore[union-attr,arg-type]
        removed["requests"] = session.exec(stmt).rowcount  # type: ignore[call-overload]
        for table in (RollupMinute, RollupHour):
            stmt = delete(table).where(table.tenant.like(like))  # type: ignore[attr-defined]
            removed[table.__tablename__] = session.exec(stmt).rowcount  # type: ignore[call-overload,attr-defined]
        stmt = delete(ModelSnapshot).where(ModelSnapshot.tenant.like(like))  # type: ignore[attr-defined]
        removed["model_snapshots"] = session.exec(stmt).rowcount  # type: ignore[call-overload]
        stmt = delete(IngestKey).where(IngestKey.name == f"{DRILL_PREFIX}{run_id}")  # type: ignore[arg-type]
        removed["ingest_keys"] = session.exec(stmt).rowcount  # type: ignore[call-overload]
        # What the evals and leak steps planted, where those capabilities are installed.
        conn = session.connection()
        tables = set(sa_inspect(conn).get_table_names())
        for table, column in (
            ("eval_feedback", "tenant"),
            ("eval_labels", "tenant"),
            ("eval_runs", "suite"),
            ("leak_canaries", "tenant"),
            ("leak_hits", "tenant"),
        ):
            if table in tables:
                if table == "eval_runs":
                    conn.execute(text(_RESULTS_OF_DRILL_RUNS), {"p": like})
                removed[table] = conn.execute(text(f"DELETE FROM {table} WHERE {column} LIKE :p"), {"p": like}).rowcount
    return removed
