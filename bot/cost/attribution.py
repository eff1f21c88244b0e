"""Which of the six usual causes is behind a burn: each is tested on the offending cohort's requests and ranked.

Runs only when an alarm fires, on a bounded read anchored at the burn's onset: the cohort's
requests since the onset (current, at most the last CURRENT_MAX_S) against as long a time just
before the onset (reference), plus which keys, prompt versions and models the hourly rollups
had seen before the onset. Anchored there, the answer does not change as the incident ages.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from sqlmodel import Session

from storage import cost as store
from storage import rollups
from storage.cost import RequestRow

CAUSES = (
    "runaway_agent_loop",
    "prompt_regression",
    "model_upgrade",
    "retry_storm",
    "noisy_tenant",
    "leaked_api_key",
)
TITLES = {
    "runaway_agent_loop": "runaway agent loop",
    "prompt_regression": "prompt regression",
    "model_upgrade": "unintended model upgrade",
    "retry_storm": "retry storm",
    "noisy_tenant": "noisy tenant",
    "leaked_api_key": "leaked API key",
    "unknown": "not identified",
}
CURRENT_MAX_S = 3600
"""The incident window read is the last hour at most: enough requests, a bounded read at any age."""
REFERENCE_MIN_S = 1800
"""The reference before the onset is as long as the incident window, and at least this long."""
NEW_MARGIN_S = 600
"""Keys, models and versions first seen after the onset minus this margin are new."""
HISTORY_S = 14 * 86400
MIN_SCORE = 0.25
MIN_REFERENCE_ROWS = 30


@dataclass
class CauseScore:
    cause: str
    score: float
    figures: list[tuple[str, str]] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)


@dataclass
class Attribution:
    """The ranked causes; ``cause`` is ``unknown`` when none scores high enough."""

    cause: str
    ranking: list[CauseScore]
    dominant: dict[str, str] = field(default_factory=dict)
    """Tenant or key holding at least 80% of the window's spend: scopes the kill switch."""

    @property
    def title(self) -> str:
        return TITLES[self.cause]

    def to_json(self) -> dict:
        return {
            "cause": self.cause,
            "dominant": self.dominant,
            "ranking": [
                {"cause": c.cause, "score": round(c.score, 3), "figures": c.figures, "samples": c.samples}
                for c in self.ranking
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> Attribution:
        ranking = [
            CauseScore(r["cause"], r["score"], [tuple(f) for f in r["figures"]], r["samples"])
            for r in data.get("ranking", [])
        ]
        return cls(cause=data.get("cause", "unknown"), ranking=ranking, dominant=data.get("dominant", {}))


def _clip(x: float) -> float:
    return max(0.0, min(1.0, x))


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (1.0 if a == 0 else 10.0)


def _share(rows: list[RequestRow], test: object) -> float:
    return sum(1 for r in rows if test(r)) / len(rows) if rows else 0.0  # type: ignore[operator]


def _spend_share(rows: list[RequestRow], test: object) -> float:
    total = sum(r.cost_usd for r in rows)
    return sum(r.cost_usd for r in rows if test(r)) / total if total > 0 else 0.0  # type: ignore[operator]


def _per_trace(rows: list[RequestRow]) -> float:
    traced = [r.trace_id for r in rows if r.trace_id]
    return len(traced) / len(set(traced)) if traced else 1.0


def _sessions(rows: list[RequestRow]) -> int:
    return len({r.session_id for r in rows if r.session_id})


def _tokens(rows: list[RequestRow]) -> float:
    return sum(r.input_tokens for r in rows) / len(rows) if rows else 0.0


def _cost_per_token(rows: list[RequestRow]) -> float:
    tokens = sum(r.input_tokens + r.output_tokens for r in rows)
    return sum(r.cost_usd for r in rows) / tokens if tokens else 0.0


@lru_cache(maxsize=65536)
def _net(ip: str | None) -> str:
    if not ip:
        return ""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _upgraded(r: RequestRow) -> bool:
    return bool(r.model_requested) and not r.model.startswith(r.model_requested or "")


def _ids(rows: list[RequestRow], limit: int = 5) -> list[str]:
    return [r.request_id for r in rows[:limit]]


def runaway_loop(cur: list[RequestRow], ref: list[RequestRow], window_s: int, ref_s: int) -> CauseScore:
    """Calls per trace and agent steps climb while user sessions do not."""
    cpt_c, cpt_r = _per_trace(cur), _per_trace(ref)
    req_growth = _ratio(len(cur) / window_s, len(ref) / ref_s)
    ses_growth = _ratio(_sessions(cur) / window_s, _sessions(ref) / ref_s)
    steps_c = max((r.agent_step or 0 for r in cur), default=0)
    steps_r = max((r.agent_step or 0 for r in ref), default=0)
    score = _clip((_ratio(cpt_c, cpt_r) - 1) / 2) * (1.0 if ses_growth < 0.6 * req_growth else 0.5)
    if steps_c > steps_r + 3:
        score = _clip(score + 0.2)
    traces = Counter(r.trace_id for r in cur if r.trace_id)
    top = traces.most_common(1)[0][0] if traces else None
    return CauseScore(
        "runaway_agent_loop",
        score,
        [
            ("calls per trace", f"{cpt_c:.1f} (before {cpt_r:.1f})"),
            ("highest agent step", f"{steps_c} (before {steps_r})"),
            ("requests vs sessions growth", f"{req_growth:.1f}x vs {ses_growth:.1f}x"),
        ],
        _ids([r for r in cur if r.trace_id == top]),
    )


def predecessor(new_rows: list[RequestRow], ref: list[RequestRow], attr_name: str) -> tuple[str, list[RequestRow]]:
    """The value a new one replaced: the most used one in the same tenants' traffic before the onset."""
    tenants, new = {r.tenant for r in new_rows}, {getattr(r, attr_name) for r in new_rows}
    before = Counter(getattr(r, attr_name) for r in ref if r.tenant in tenants and getattr(r, attr_name) not in new)
    if not before:
        return "", []
    value = before.most_common(1)[0][0]
    return value, [r for r in ref if r.tenant in tenants and getattr(r, attr_name) == value]


def prompt_regression(cur: list[RequestRow], ref: list[RequestRow], seen_versions: set[str]) -> CauseScore:
    """Input tokens per request jump together with a prompt version not seen before, against the one it replaced."""
    tok_ratio = _ratio(_tokens(cur), _tokens(ref))
    new_rows = [r for r in cur if r.prompt_version not in seen_versions]
    new_share = len(new_rows) / len(cur) if cur else 0.0
    versions = Counter(r.prompt_version for r in new_rows)
    figures = [("input tokens per request", f"{_tokens(cur):,.0f} (before {_tokens(ref):,.0f}, {tok_ratio:.1f}x)")]
    if versions:
        top = versions.most_common(1)[0][0]
        old, old_rows = predecessor([r for r in new_rows if r.prompt_version == top], ref, "prompt_version")
        if old_rows:
            tok_ratio = _ratio(_tokens([r for r in new_rows if r.prompt_version == top]), _tokens(old_rows))
            figures.insert(
                0,
                ("new version against the one it replaced", f"{top} sends {tok_ratio:.1f}x the input tokens of {old}"),
            )
    figures.append(
        (
            "new prompt versions",
            ", ".join(sorted(versions)[:3]) + f" ({new_share:.0%} of requests)" if versions else "none",
        )
    )
    score = _clip((tok_ratio - 1.2) / 1.0) * (1.0 if new_share >= 0.2 else 0.4)
    return CauseScore("prompt_regression", score, figures, _ids(new_rows))


def model_upgrade(cur: list[RequestRow], ref: list[RequestRow], seen_models: set[str]) -> CauseScore:
    """The served model differs from the requested one, or a pricier new model appears, tokens unchanged.

    Shares are of spend, not requests: a few upgraded calls at many times the price are most of the burn,
    and the window still holds the minutes before the upgrade began.
    """
    up_c, up_r = _spend_share(cur, _upgraded), _spend_share(ref, _upgraded)
    new_share = _spend_share(cur, lambda r: r.model not in seen_models)
    price_ratio = _ratio(_cost_per_token(cur), _cost_per_token(ref))
    tok_ratio = _ratio(_tokens(cur), _tokens(ref))
    evidence = max(_clip((up_c - up_r) / 0.3), _clip(new_share / 0.3) * (1.0 if price_ratio >= 1.5 else 0.3))
    score = evidence * (1.0 if 0.7 <= tok_ratio <= 1.4 else 0.4)
    models = Counter(r.model for r in cur if _upgraded(r) or r.model not in seen_models)
    return CauseScore(
        "model_upgrade",
        score,
        [
            ("served ≠ requested", f"{up_c:.0%} of spend (before {up_r:.0%})"),
            ("models new to the cohort", ", ".join(m for m, _ in models.most_common(3)) or "none"),
            ("cost per token", f"{price_ratio:.1f}x, input tokens per request {tok_ratio:.1f}x"),
        ],
        _ids([r for r in cur if _upgraded(r) or r.model not in seen_models]),
    )


def retry_storm(cur: list[RequestRow], ref: list[RequestRow]) -> CauseScore:
    """The share of retries (attempt > 1) and of errors rises."""
    rc, rr = _share(cur, lambda r: r.attempt > 1), _share(ref, lambda r: r.attempt > 1)
    ec, er = _share(cur, lambda r: r.status != "ok"), _share(ref, lambda r: r.status != "ok")
    score = _clip((rc - rr) / 0.3) * 0.8 + _clip((ec - er) / 0.3) * 0.2
    return CauseScore(
        "retry_storm",
        _clip(score),
        [("retries", f"{rc:.0%} of requests (before {rr:.0%})"), ("errors", f"{ec:.0%} (before {er:.0%})")],
        _ids([r for r in cur if r.attempt > 1]),
    )


def leaked_key(cur: list[RequestRow], ref: list[RequestRow], seen_keys: set[str]) -> CauseScore:
    """Spend from a key never seen before, or from unfamiliar networks, without matching user sessions."""
    spend = sum(r.cost_usd for r in cur) or 1.0
    new_key_rows = [r for r in cur if r.api_key_id and r.api_key_id not in seen_keys]
    new_key_share = sum(r.cost_usd for r in new_key_rows) / spend
    known_nets = {_net(r.client_ip) for r in ref}
    odd_rows = [r for r in cur if r.client_ip and _net(r.client_ip) not in known_nets]
    odd_share = sum(r.cost_usd for r in odd_rows) / spend
    suspect = new_key_rows or odd_rows
    no_session = _share(suspect, lambda r: not r.session_id)
    score = max(_clip(new_key_share / 0.3), 0.8 * _clip(odd_share / 0.3)) * (1.0 if no_session >= 0.5 else 0.6)
    keys = Counter(r.api_key_id for r in new_key_rows)
    return CauseScore(
        "leaked_api_key",
        score,
        [
            (
                "spend from keys never seen",
                f"{new_key_share:.0%}" + (f" ({keys.most_common(1)[0][0]})" if keys else ""),
            ),
            ("spend from unfamiliar networks", f"{odd_share:.0%}"),
            ("suspect requests without a session", f"{no_session:.0%}"),
        ],
        _ids(suspect),
    )


def noisy_tenant(tenant_now: dict[str, float], tenant_before: dict[str, float], cur: list[RequestRow]) -> CauseScore:
    """One tenant's spend grows far more than the rest's (capped: it is the fallback cause).

    Growth against the rest, not the share's rise: a tenant holding half the spend that quadruples
    only goes from 50% to 80% of it, a rise of 1.6x that read as "not identified".
    """
    total_now, total_before = sum(tenant_now.values()) or 1.0, sum(tenant_before.values()) or 1.0
    in_cohort = {r.tenant for r in cur}
    best, best_ratio, share_now, share_before = "", 1.0, 0.0, 0.0
    for tenant in in_cohort:
        mine_now, mine_before = tenant_now.get(tenant, 0.0), tenant_before.get(tenant, 0.0)
        now_s, before_s = mine_now / total_now, mine_before / total_before
        if total_before <= mine_before:
            continue  # no other tenant's spend before: nothing to be noisy against
        rest = _ratio(total_now - mine_now, total_before - mine_before)
        ratio = _ratio(mine_now, mine_before) / max(rest, 1e-9)
        if ratio > best_ratio:
            best, best_ratio, share_now, share_before = tenant, ratio, now_s, before_s
    score = 0.6 * _clip((best_ratio - 1.3) / 1.5)
    return CauseScore(
        "noisy_tenant",
        score,
        [("tenant share of spend", f"{best or '-'}: {share_now:.0%} (before {share_before:.0%})")],
        _ids([r for r in cur if r.tenant == best]),
    )


def attribute(*, session: Session, cohort: dict[str, str], end: int, onset: int) -> Attribution:
    """Test the six causes on the cohort's requests since ``onset`` against as long before it; rank them, best first."""
    window_s = max(60, min(end - onset, CURRENT_MAX_S))
    start = end - window_s
    ref_s = max(window_s, REFERENCE_MIN_S)
    ref_lo, ref_hi = onset - ref_s, onset
    cur = store.list_request_rows(session=session, start_ms=start * 1000, end_ms=end * 1000, where=cohort)
    ref_where: dict[str, str] = cohort
    ref = store.list_request_rows(session=session, start_ms=ref_lo * 1000, end_ms=ref_hi * 1000, where=cohort)
    if len(ref) < MIN_REFERENCE_ROWS:
        # a cohort new at the onset (a version, a key, a model) is compared with the tenant it took traffic from
        tenants = Counter(r.tenant for r in cur)
        ref_where = {"tenant": tenants.most_common(1)[0][0]} if tenants else {}
        ref = store.list_request_rows(session=session, start_ms=ref_lo * 1000, end_ms=ref_hi * 1000, where=ref_where)
    hist = (onset - HISTORY_S, (onset - NEW_MARGIN_S) // 3600 * 3600)
    seen_keys = store.list_seen_values(session=session, dimension="api_key_id", start=hist[0], end=hist[1])
    seen_versions = store.list_seen_values(session=session, dimension="prompt_version", start=hist[0], end=hist[1])
    seen_models = store.list_seen_values(
        session=session, dimension="model", start=hist[0], end=hist[1], where=ref_where
    )
    by_tenant_now = rollups.list_cohorts(session=session, start=start, end=end, group_by=["tenant"])
    by_tenant_before = rollups.list_cohorts(session=session, start=ref_lo, end=ref_hi, group_by=["tenant"])
    ranking = [
        runaway_loop(cur, ref, window_s, ref_s),
        prompt_regression(cur, ref, seen_versions),
        model_upgrade(cur, ref, seen_models),
        retry_storm(cur, ref),
        noisy_tenant(
            {s.cohort["tenant"]: s.totals["cost_usd"] for s in by_tenant_now},
            {s.cohort["tenant"]: s.totals["cost_usd"] for s in by_tenant_before},
            cur,
        ),
        leaked_key(cur, ref, seen_keys),
    ]
    ranking.sort(key=lambda c: -c.score)
    cause = ranking[0].cause if ranking[0].score >= MIN_SCORE else "unknown"
    dominant = _dominant(cur)
    if cause == "leaked_api_key":
        # the kill switch's scope is the new key, even where its owner's own traffic is a quarter of the spend
        spend: Counter[str] = Counter()
        for r in cur:
            if r.api_key_id and r.api_key_id not in seen_keys:
                spend[r.api_key_id] += r.cost_usd
        if spend:
            dominant["api_key_id"] = spend.most_common(1)[0][0]
    return Attribution(cause=cause, ranking=ranking, dominant=dominant)


def _dominant(rows: list[RequestRow]) -> dict[str, str]:
    total = sum(r.cost_usd for r in rows)
    out: dict[str, str] = {}
    for dim in ("tenant", "api_key_id"):
        spend: Counter[str] = Counter()
        for r in rows:
            spend[getattr(r, dim)] += r.cost_usd
        if spend and total > 0:
            value, amount = spend.most_common(1)[0]
            if value and amount >= 0.8 * total:
                out[dim] = value
    return out
