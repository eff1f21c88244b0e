"""The isolation audit's report: terminal text and the Slack card."""

from __future__ import annotations

from typing import Any

from bot.cards import blocks
from bot.cards.text import render
from bot.leaks.audit import AuditReport

HEADERS = {
    "clean": "Isolation audit: clean",
    "crossover": "Isolation audit: crossover found",
    "not_exercisable": "Isolation audit: target not exercisable",
}


def _context(report: AuditReport) -> dict[str, Any]:
    data = report.to_json()
    return {
        "target": report.target,
        "tenants": report.tenants,
        "requests": data["requests"],
        "failed": data["failed_requests"],
        "result": data["result"],
        "problem": report.problem or "",
        "by_pattern": data["by_pattern"],
        "crossovers": data["crossovers"][:10],
        "more": max(0, len(data["crossovers"]) - 10),
    }


def report_text(report: AuditReport) -> str:
    """The report a person reads in the terminal."""
    return str(render("leaks_audit_report.md.j2", **_context(report)))


def report_blocks(report: AuditReport) -> list[dict[str, Any]]:
    """The report as Block Kit blocks for the Slack card."""
    ctx = _context(report)
    return [blocks.header(HEADERS[ctx["result"]]), blocks.section(str(render("leaks_audit_report.md.j2", **ctx)))]
