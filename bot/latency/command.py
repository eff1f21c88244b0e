"""``/latency [intent|path] [1h|24h|7d|30d] [by path|intent|model|tenant|provider]``: percentiles from the rollups."""

from __future__ import annotations

from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.cards.text import render
from bot.errors import UserError
from bot.latency.chart import render_chart
from bot.latency.report import DIMENSIONS, STEPS, WINDOWS, Report, build_report
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand, Upload
from storage import latency as store

USAGE = "`/latency [intent|path] [1h|24h|7d|30d] [by path|intent|model|tenant|provider]`"
NAMES_WINDOW = 30 * 86400
MAX_NAMES = 25


def _fail(message: str) -> UserError:
    return UserError(f"{message}. Usage: {USAGE}")


def parse(text: str) -> tuple[str | None, str, str | None]:
    """(name, window, dimension) from words in any order; a second name or a bad ``by`` is refused."""
    words = text.split()
    name: str | None = None
    window, dim = "24h", None
    i = 0
    while i < len(words):
        w = words[i]
        low = w.lower()
        if low == "by":
            if i + 1 >= len(words):
                raise _fail(f"'by' needs one of {', '.join(DIMENSIONS)}")
            choice = words[i + 1].lower()
            if choice not in DIMENSIONS:
                raise _fail(f"'{words[i + 1][:40]}' is not a grouping; use {', '.join(DIMENSIONS)}")
            dim, i = choice, i + 2
            continue
        if low in WINDOWS:
            window = low
        elif name is None:
            name = w[:128]
        else:
            raise _fail(f"'{w[:40]}' is not understood: give one intent or path, a window (1h, 24h, 7d, 30d)")
        i += 1
    return name, window, dim


def resolve_scope(services: Services, name: str | None, end: int, tenant: str | None = None) -> dict[str, str]:
    """The intent or path a name refers to; an unknown one is refused with the names that exist (in ``tenant``)."""
    if name is None:
        return {}
    with services.db.session() as session:
        known = store.list_names(session=session, start=end - NAMES_WINDOW, end=end + 3600, tenant=tenant)
    for dim in ("intent", "path"):
        if name in known[dim]:
            return {dim: name}
    for dim in ("intent", "path"):
        folded = [v for v in known[dim] if v.lower() == name.lower()]
        if folded:
            return {dim: folded[0]}
    listed = "; ".join(f"{dim}s: {', '.join(known[dim][:MAX_NAMES]) or '(none yet)'}" for dim in ("intent", "path"))
    raise UserError(
        f"'{name[:60]}' is neither an intent nor a path seen in the last 30 days. Known {listed}. Usage: {USAGE}"
    )


def _ms(v: float | None) -> str:
    return "—" if v is None else (f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.0f} ms")


def _change(now: float | None, before: float | None) -> str | None:
    if now is None or before is None or before == 0:
        return None
    return f"{(now - before) / before:+.0%}"


def render_card(report: Report) -> Card:
    """The reply: totals, the table per group with budget state and change, budgets, and the tail."""
    scope = " ".join(f"{k}={v}" for k, v in report.scope.items()) or "all traffic"
    t, p = report.total, report.before
    head = render(
        "latency_report.md.j2",
        scope=scope,
        window=report.window,
        requests=t.requests,
        p50=_ms(t.percentile(0.5)),
        p95=_ms(t.percentile(0.95)),
        p99=_ms(t.percentile(0.99)),
        ttft=None if not t.ttft else _ms(t.ttft_percentile(0.95)),
        change=_change(t.percentile(0.95), p.percentile(0.95)),
        before_requests=p.requests,
    )
    rows = [
        {
            "name": r.name,
            "requests": r.requests,
            "share": r.share,
            "p50": _ms(r.p50),
            "p95": _ms(r.p95),
            "p99": _ms(r.p99),
            "change": _change(r.p95, r.p95_before),
            "budget": r.budget,
            "ttft": None if r.ttft_p95 is None else _ms(r.ttft_p95),
        }
        for r in report.rows
    ]
    body = render("latency_rows.md.j2", dim=report.dim, rows=rows, ttft=any(r["ttft"] for r in rows))
    budgets = [
        {
            "scope": st.budget.describe(),
            "over": st.over,
            "requests": st.requests,
            "checks": [
                {"name": n, "limit": _ms(lim), "value": _ms(v), "over": v is not None and v > lim}
                for n, lim, v in st.checks
            ],
        }
        for st in report.budgets
    ]
    tail = [{"dim": d, "name": n, "median": _ms(m), "requests": c} for d, n, m, c in report.tail]
    extra = render("latency_tail.md.j2", budgets=budgets, tail=tail, p95=_ms(t.percentile(0.95)))
    title = f"Latency · {scope} · last {report.window}"
    return Card(
        text=title,
        blocks=[
            b.header(title[:150]),
            b.section(head),
            b.section(body),
            b.section(extra),
            b.context(
                "Chart: P50/P95 per path over time and each path's share (latency.png). From the rollups' histograms."
            ),
        ],
    )


def handle(services: Services, request: CommandRequest) -> CommandReply:
    """Parse, check the name, build the report from the rollups, render the card and the chart."""
    if request.text.strip().lower() == "help":
        return CommandReply(card=Card(text="/latency usage", blocks=[b.section(f"Usage: {USAGE}")]))
    name, window, dim = parse(request.text)
    end = int(request.now.timestamp()) // 60 * 60 + 60
    scope = resolve_scope(
        services, name, end, None if request.tenant_scope.all_tenants else request.tenant_scope.tenant
    )
    dim = dim or ("path" if "intent" in scope or not scope else "intent")
    scope = request.tenant_scope.where(scope)  # a tenant's channel reads that tenant's rollups only
    cfg = services.settings.file.latency
    with services.db.session() as session:
        report = build_report(session=session, cfg=cfg, window=window, dim=dim, scope=scope, end=end)
    card = render_card(report)
    title = f"Latency, {' '.join(v for k, v in scope.items() if k != 'tenant') or 'all traffic'}, last {window}"
    png = render_chart(report.series, start=report.start, end=report.end, step=STEPS[window], title=title)
    return CommandReply(
        card=card, in_channel=True, uploads=[Upload(filename="latency.png", content=png, title=title[:200])]
    )


COMMAND = SlashCommand(
    name="/latency",
    description="P50/P95/P99 per path, intent, model, tenant or provider, latency budgets and who lives in the tail",
    usage_hint="[intent|path] [1h|24h|7d|30d] [by path|intent|model|tenant|provider]",
    handler=handle,
)
