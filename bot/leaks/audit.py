"""The isolation audit: drive two or more tenants through the AI feature and look for crossovers.

Each tenant gets a fresh canary shaped like an account reference a customer would mention.
Three phases per round and per ordered pair of tenants make each kind of shared state show
itself: the same user id in two tenants (memory keyed on the user), the same question in two
tenants (a response cache keyed on the question), and concurrent bursts with nothing shared
(state that crosses under load). Every answer is checked for the other tenants' canaries.
"""

from __future__ import annotations

import itertools
import secrets
import string
import threading
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PATTERNS = ("same user id", "same question", "concurrency")
_REF_ALPHABET = string.ascii_uppercase + string.digits


class AuditError(ValueError):
    """The template or the target is unusable; the message says what to fix."""


@dataclass(frozen=True)
class Template:
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    field: str


def load_template(path: Path) -> Template:
    """Read and check the TOML request template (``[request]`` and ``[response].field``)."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise AuditError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise AuditError(f"{path}: not valid TOML: {exc}") from None
    request, response = data.get("request"), data.get("response")
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        raise AuditError(f'{path}: [request] needs url, e.g. url = "{{target}}/chat"')
    if not isinstance(response, dict) or not isinstance(response.get("field"), str) or not response["field"]:
        raise AuditError(f'{path}: [response] needs field, the dotted path to the answer, e.g. field = "answer"')
    method = str(request.get("method", "POST")).upper()
    if method not in ("GET", "POST", "PUT"):
        raise AuditError(f"{path}: request.method must be GET, POST or PUT")
    headers = request.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise AuditError(f"{path}: request.headers must be a table of strings")
    blob = repr(request)
    if "{message}" not in blob:
        raise AuditError(f"{path}: the request must carry {{message}} somewhere (url, headers or body)")
    if "{tenant}" not in blob:
        raise AuditError(f"{path}: the request must carry {{tenant}} somewhere (url, headers or body)")
    return Template(
        method=method, url=request["url"], headers=headers, body=request.get("body"), field=response["field"]
    )


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for k, v in values.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


def account_reference() -> str:
    """A fresh canary a customer could plausibly type: letters and digits, 12 characters."""
    while True:
        ref = "".join(secrets.choice(_REF_ALPHABET) for _ in range(12))
        if any(c.isdigit() for c in ref) and any(c.isalpha() for c in ref):
            return ref


@dataclass
class Exchange:
    seq: int
    tenant: str
    user: str
    message: str
    phase: str
    answer: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Crossover:
    pattern: str
    owner: str
    receiver: str
    canary: str
    planted: Exchange
    leaked: Exchange


@dataclass
class AuditReport:
    target: str
    tenants: list[str]
    exchanges: list[Exchange] = field(default_factory=list)
    crossovers: list[Crossover] = field(default_factory=list)
    problem: str | None = None

    @property
    def exit_code(self) -> int:
        if self.problem:
            return 2
        return 1 if self.crossovers else 0

    def by_pattern(self) -> dict[str, int]:
        return {p: sum(1 for c in self.crossovers if c.pattern == p) for p in PATTERNS}

    def to_json(self) -> dict[str, Any]:
        def ex(e: Exchange) -> dict[str, Any]:
            return {"seq": e.seq, "tenant": e.tenant, "user": e.user, "message": e.message, "phase": e.phase}

        return {
            "target": self.target,
            "tenants": self.tenants,
            "requests": len(self.exchanges),
            "failed_requests": sum(1 for e in self.exchanges if e.error),
            "result": ["clean", "crossover", "not_exercisable"][self.exit_code],
            "problem": self.problem,
            "by_pattern": self.by_pattern(),
            "crossovers": [
                {
                    "pattern": c.pattern,
                    "owner": c.owner,
                    "receiver": c.receiver,
                    "planted_by": ex(c.planted),
                    "leaked_in": ex(c.leaked),
                }
                for c in self.crossovers
            ],
        }


class _Driver:
    def __init__(self, target: str, tpl: Template, client: httpx.Client) -> None:
        self.target, self.tpl, self.client = target.rstrip("/"), tpl, client
        self.exchanges: list[Exchange] = []
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, tenant: str, user: str, message: str, phase: str) -> Exchange:
        with self._lock:
            ex = Exchange(seq=next(self._seq), tenant=tenant, user=user, message=message, phase=phase)
            self.exchanges.append(ex)
        values = {"target": self.target, "tenant": tenant, "user": user, "message": message}
        url = _fill(self.tpl.url, values)
        try:
            r = self.client.request(
                self.tpl.method,
                url,
                headers=_fill(self.tpl.headers, values),
                json=_fill(self.tpl.body, values) if self.tpl.body is not None and self.tpl.method != "GET" else None,
            )
        except httpx.HTTPError as exc:
            ex.error = f"{type(exc).__name__}: {exc}"
            return ex
        if r.status_code >= 400:
            ex.error = f"HTTP {r.status_code}"
            return ex
        try:
            answer = _dig(r.json(), self.tpl.field)
        except ValueError:
            ex.error = "the reply is not JSON"
            return ex
        if answer is None:
            ex.error = f"the reply has no field {self.tpl.field!r}"
        else:
            ex.answer = answer if isinstance(answer, str) else str(answer)
        return ex


def run_audit(
    target: str,
    tpl: Template,
    tenants: list[str],
    *,
    rounds: int = 3,
    concurrency: int = 4,
    timeout_s: float = 10.0,
) -> AuditReport:
    """Run every phase and return the report (never raises for what the target does)."""
    canaries = {t: account_reference() for t in tenants}
    report = AuditReport(target=target, tenants=list(tenants))
    nonce = secrets.token_hex(3)
    with httpx.Client(timeout=timeout_s) as client:
        d = _Driver(target, tpl, client)
        try:
            for r in range(rounds):
                for owner, receiver in itertools.permutations(tenants, 2):
                    tag = f"{nonce}-{r}-{owner}-{receiver}"
                    # Same user id in both tenants; each question asked once, so no cache can answer it.
                    shared_user = f"user-{tag}"
                    d.send(owner, shared_user, f"Please remember my account reference {canaries[owner]}.", "same_user")
                    d.send(owner, shared_user, f"What is my account reference? (ticket {tag}-a)", "same_user")
                    d.send(receiver, shared_user, f"What is my account reference? (ticket {tag}-b)", "same_user")
                    # Same question from different users: only a cache keyed without the tenant answers it.
                    question = f"What account reference do you have on file for me? (case {tag})"
                    d.send(
                        owner,
                        f"owner-{tag}",
                        f"Please remember my account reference {canaries[owner]}.",
                        "same_question",
                    )
                    d.send(owner, f"owner-{tag}", question, "same_question")
                    d.send(receiver, f"receiver-{tag}", question, "same_question")
                if _hopeless(d.exchanges):
                    break
                _burst(d, tenants, canaries, f"{nonce}-{r}", concurrency)
        finally:
            report.exchanges = d.exchanges
    report.problem = _problem(report.exchanges, canaries)
    if report.problem is None:
        report.crossovers = find_crossovers(report.exchanges, canaries)
    return report


def _burst(d: _Driver, tenants: list[str], canaries: dict[str, str], tag: str, concurrency: int) -> None:
    """Every tenant at once, with users and questions of its own: what leaks here leaks under load."""
    jobs = []
    for i in range(max(2, concurrency)):
        for t in tenants:
            user = f"burst-{tag}-{t}-{i}"
            jobs.append((t, user, f"Please remember my account reference {canaries[t]}.", "concurrency"))
            jobs.append((t, user, f"What is my account reference? (burst {tag}-{t}-{i})", "concurrency"))
    plants, asks = jobs[0::2], jobs[1::2]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda j: d.send(*j), plants))
        list(pool.map(lambda j: d.send(*j), asks))


def _hopeless(exchanges: list[Exchange]) -> bool:
    return bool(exchanges) and all(e.error for e in exchanges)


def _problem(exchanges: list[Exchange], canaries: dict[str, str]) -> str | None:
    """Why the audit proves nothing, or None: no answer, or a feature that never repeats a reference."""
    failed = [e for e in exchanges if e.error]
    if not exchanges or len(failed) == len(exchanges):
        first = failed[0].error if failed else "no request was sent"
        return f"the target answered no request ({first})"
    if len(failed) > len(exchanges) // 2:
        return f"{len(failed)} of {len(exchanges)} requests failed (first: {failed[0].error})"
    echoed = any(
        e.answer and canaries[e.tenant].lower() in e.answer.lower() and canaries[e.tenant] not in e.message
        for e in exchanges
    )
    if not echoed:
        return "no answer ever repeated the tenant's own planted reference, so a crossover could not show"
    return None


def find_crossovers(exchanges: list[Exchange], canaries: dict[str, str]) -> list[Crossover]:
    """Every answer holding another tenant's canary, with the request that planted it and what exposed it."""
    found = []
    ordered = sorted(exchanges, key=lambda e: e.seq)
    for leaked in ordered:
        if not leaked.answer:
            continue
        text = leaked.answer.lower()
        for owner, canary in canaries.items():
            if owner == leaked.tenant or canary.lower() not in text:
                continue
            earlier = [e for e in ordered if e.tenant == owner and e.seq < leaked.seq]
            same_user = [e for e in earlier if e.user == leaked.user and canary in e.message]
            same_q = [
                e for e in earlier if e.message == leaked.message and e.answer and canary.lower() in e.answer.lower()
            ]
            if same_user:
                pattern, planted = "same user id", same_user[-1]
            elif same_q:
                pattern, planted = "same question", same_q[-1]
            else:
                plants = [e for e in ordered if e.tenant == owner and canary in e.message]
                pattern, planted = "concurrency", (plants[-1] if plants else leaked)
            found.append(
                Crossover(
                    pattern=pattern, owner=owner, receiver=leaked.tenant, canary=canary, planted=planted, leaked=leaked
                )
            )
    return found
