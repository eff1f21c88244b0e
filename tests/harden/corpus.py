"""Hand-made bad inputs over every HTTP endpoint: each one must get an answer, never a 5xx.

A case is data (method, path, body, headers, who is asking, what the answer must name);
``tests/harden/test_corpus.py`` sends each over real HTTP on each database. Cases that
are bad in one known field also say which field the answer must name.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson

from tests.ingest.factory import event
from tests.webhooks.payloads import load

NUL = "\x00"


@dataclass
class Case:
    name: str
    method: str
    path: str
    body: bytes | None = None
    auth: str | None = "ingest"
    """'ingest', 'read', 'webhook', 'none' or a literal header value."""
    headers: dict[str, str] = field(default_factory=dict)
    names: str | None = None
    """A text the answer must contain (the field at fault), when the input is bad in one known place."""
    slack: str | None = None
    """For /slack/events: 'signed' signs the body; otherwise the X-Slack-Request-Timestamp to send unsigned."""


def _now_event(**overrides: Any) -> dict[str, Any]:
    ts = (datetime.now(UTC) - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    return event(**{"timestamp": ts, **overrides})


def _events(*evs: Any) -> bytes:
    return orjson.dumps({"events": list(evs)})


TEXT_FIELDS = [
    "request_id",
    "tenant",
    "prompt_version",
    "model",
    "intent",
    "category",
    "path",
    "session_id",
    "trace_id",
    "user_id",
    "model_requested",
    "provider",
    "system_fingerprint",
    "response",
    "finish_reason",
    "api_key_id",
    "parent_request_id",
]

BAD_TIMES = [
    ("year1 with offset", "0001-01-01T00:30:00+01:00"),
    ("year9999 behind utc", "9999-12-31T23:30:00-01:00"),
    ("year 1", "0001-01-01T00:00:00Z"),
    ("unix epoch day", "1970-01-01T00:00:00Z"),
    ("two years ago", "2024-11-01T00:00:00Z"),
    ("far future", "2999-01-01T00:00:00Z"),
    ("date only", "2026-11-26"),
    ("no zone", "2026-11-26T09:30:00"),
    ("garbage", "yesterday at noon"),
    ("nul inside", "2026-11-26T09:30:00\x00Z"),
    ("month 13", "2026-13-01T00:00:00Z"),
    ("very long", "2026-11-26T09:30:00" + "0" * 200 + "Z"),
    ("epoch seconds", 1764149400),
    ("epoch float", 1764149400.5),
    ("null", None),
    ("object", {"seconds": 1}),
]


def event_cases() -> list[Case]:
    cases = []
    for name in TEXT_FIELDS:
        ev = _now_event(**{name: f"bad{NUL}value"})
        cases.append(Case(f"events NUL in {name}", "POST", "/v1/events", _events(ev), names=f"events[0].{name}"))
    nested = {
        "prompt.system": lambda e: e["prompt"].__setitem__("system", f"sys{NUL}"),
        "prompt.messages[0].content": lambda e: e["prompt"]["messages"][0].__setitem__("content", f"hi{NUL}"),
        "prompt.messages[0].role": lambda e: e["prompt"]["messages"][0].__setitem__("role", f"u{NUL}"),
        "context[0].text": lambda e: e["context"][0].__setitem__("text", f"doc{NUL}"),
        "context[0].doc_id": lambda e: e["context"][0].__setitem__("doc_id", f"kb{NUL}"),
        "labels.team": lambda e: e.__setitem__("labels", {"team": f"a{NUL}b"}),
        "labels key": lambda e: e.__setitem__("labels", {f"te{NUL}am": "a"}),
    }
    for where, poison in nested.items():
        ev = _now_event()
        poison(ev)
        expect = "events[0]." + where.split()[0] if "key" not in where else "events[0].labels"
        cases.append(Case(f"events NUL in {where}", "POST", "/v1/events", _events(ev), names=expect))
    for label, value in BAD_TIMES:
        ev = _now_event(timestamp=value)
        cases.append(Case(f"events timestamp {label}", "POST", "/v1/events", _events(ev), names="timestamp"))
    numbers = {
        "input_tokens": [-1, 10**12, "12", 1.5, True, None],
        "cost_usd": [-0.01, 1e308, "free", float("inf") if False else 10**9],
        "latency_ms": [-5, 10**12, "fast"],
        "attempt": [0, 10**6],
        "agent_step": [-1, 10**9],
    }
    for name, values in numbers.items():
        for v in values:
            body = orjson.dumps({"events": [_now_event(**{name: v})]})
            cases.append(Case(f"events {name}={v!r}", "POST", "/v1/events", body, names=f"events[0].{name}"))
    shapes: list[tuple[str, bytes]] = [
        ("empty body", b""),
        ("not json", b"{events: ["),
        ("json array", b"[1,2,3]"),
        ("json string", b'"events"'),
        ("json null", b"null"),
        ("events not a list", b'{"events": {"a": 1}}'),
        ("events of nulls", b'{"events": [null, 1, "x"]}'),
        ("extra top-level", orjson.dumps({"events": [], "batch": 1})),
        ("invalid utf-8", b'{"events": [{"tenant": "\xff\xfe"}]}'),
        ("lone surrogate", b'{"events": [{"tenant": "\\ud800"}]}'),
        ("nul key top-level", b'{"ev\\u0000ents": []}'),
        ("deep nesting", b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}"),
        ("unknown field", orjson.dumps({"events": [_now_event(colour="red")]})),
        ("cached above input", orjson.dumps({"events": [_now_event(input_tokens=1, cached_tokens=5)]})),
        ("bad client ip", orjson.dumps({"events": [_now_event(client_ip="999.1.1.1")]})),
        ("status unknown", orjson.dumps({"events": [_now_event(status="exploded")]})),
        ("too many labels", orjson.dumps({"events": [_now_event(labels={str(i): "x" for i in range(60)})]})),
    ]
    cases += [Case(f"events {n}", "POST", "/v1/events", b) for n, b in shapes]
    good = _events(_now_event())
    auths = [
        ("no auth", "none"),
        ("basic scheme", "Basic dXNlcjpwYXNz"),
        ("bearer with no key", "Bearer"),
        ("unknown key", "Bearer al_unknown_key_000000000000000"),
        ("long key", "Bearer " + "k" * 5000),
        ("read key", "read"),
    ]
    cases += [Case(f"events auth {n}", "POST", "/v1/events", good, auth=a) for n, a in auths]
    cases.append(Case("events text/plain", "POST", "/v1/events", good, headers={"Content-Type": "text/plain"}))
    return cases


def request_cases() -> list[Case]:
    ids = ["a%00b", "%00", "x" * 600, "%F0%9F%92%A5", "..%2F..%2Fetc", "a%20b", "req_unknown"]
    cases = [Case(f"requests id {i[:20]}", "GET", f"/v1/requests/{i}", auth="read") for i in ids]
    for q in ["tenant=a%00b", "tenant=", "tenant=" + "t" * 600, "tenant=other"]:
        cases.append(Case(f"requests ?{q[:20]}", "GET", f"/v1/requests/req_1?{q}", auth="read"))
    cases.append(Case("requests no auth", "GET", "/v1/requests/req_1", auth="none"))
    return cases


def outbox_cases() -> list[Case]:
    queries = ["limit=-5", "limit=0", "limit=501", "limit=abc", "limit=1e3", "limit=9" * 3, "after=-1"]
    queries += ["after=99999999999999999999999", "after=9999999999", "limit=%00", "limit=%EF%BC%91", "after= 3"]
    cases = [
        Case(f"outbox ?{q[:24]}", "GET", f"/outbox?{q}", auth="read", names="limit" if "limit" in q else "after")
        for q in queries
    ]
    cases.append(Case("outbox repeated limit", "GET", "/outbox?limit=1&limit=2", auth="read"))
    cases.append(Case("outbox no auth", "GET", "/outbox", auth="none"))
    return cases


def _set(payload: Any, path: list[Any], value: Any) -> Any:
    out = copy.deepcopy(payload)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


def webhook_cases() -> list[Case]:
    cases = []
    sources = {
        "alertmanager": load("alertmanager_firing"),
        "grafana": load("grafana_firing"),
        "pagerduty": load("pagerduty_triggered"),
        "generic": load("generic_firing"),
    }
    for source, good in sources.items():
        path = f"/webhooks/{source}"
        poisons: dict[str, Any] = {"top-level NUL key": {**good, f"x{NUL}": "y"}}
        if source in ("alertmanager", "grafana"):
            poisons["NUL label"] = _set(good, ["alerts", 0, "labels", "alertname"], f"a{NUL}b")
            poisons["NUL annotation"] = _set(good, ["alerts", 0, "annotations", "summary"], f"s{NUL}")
            poisons["startsAt year1 offset"] = _set(good, ["alerts", 0, "startsAt"], "0001-01-01T00:30:00+01:00")
            poisons["startsAt epoch"] = _set(good, ["alerts", 0, "startsAt"], 1764149400)
            poisons["startsAt garbage"] = _set(good, ["alerts", 0, "startsAt"], "soon")
            poisons["alerts not list"] = _set(good, ["alerts"], {"a": 1})
            poisons["alert not object"] = _set(good, ["alerts"], [1, "x"])
        if source == "generic":
            poisons["NUL title"] = _set(good, ["alerts", 0, "title"], f"t{NUL}")
            poisons["NUL label"] = _set(good, ["alerts", 0, "labels"], {"tenant": f"a{NUL}"})
            poisons["epoch starts_at"] = _set(good, ["alerts", 0, "starts_at"], 1764149400)
            poisons["date starts_at"] = _set(good, ["alerts", 0, "starts_at"], "2026-11-26")
            poisons["year1 offset"] = _set(good, ["alerts", 0, "starts_at"], "0001-01-01T00:30:00+01:00")
            poisons["unknown field"] = _set(good, ["alerts", 0, "colour"], "red")
            poisons["no alerts"] = {"alerts": []}
        if source == "pagerduty":
            poisons["event not object"] = _set(good, ["event"], "x")
            poisons["NUL in event"] = _set(good, ["event", "event_type"], f"incident.trig{NUL}")
            poisons["occurred_at year1"] = _set(good, ["event", "occurred_at"], "0001-01-01T00:30:00+01:00")
        for name, payload in poisons.items():
            cases.append(Case(f"{source} {name}", "POST", path, orjson.dumps(payload), auth="webhook"))
        for name, raw in [("empty", b""), ("not json", b"{"), ("array", b"[]"), ("null", b"null"), ("number", b"7")]:
            cases.append(Case(f"{source} body {name}", "POST", path, raw, auth="webhook"))
        cases.append(Case(f"{source} no token", "POST", path, orjson.dumps(good), auth="none"))
        cases.append(Case(f"{source} wrong token", "POST", path, orjson.dumps(good), auth="Bearer wrong"))
    cases.append(Case("webhook unknown source", "POST", "/webhooks/nagios", b"{}", auth="webhook"))
    cases.append(Case("webhook NUL source", "POST", "/webhooks/a%00b", b"{}", auth="webhook"))
    return cases


def ofrep_cases() -> list[Case]:
    base = "/ofrep/v1/evaluate/flags"
    bodies = [b"", b"{", b"[]", b'{"context": 5}', b'{"context": {"targetingKey": 5}}', b'{"context": {"a\\u0000": 1}}']
    cases = [Case(f"ofrep bulk body {b[:20]!r}", "POST", base, b, auth="flags") for b in bodies]
    cases += [Case(f"ofrep flag body {b[:20]!r}", "POST", f"{base}/some-flag", b, auth="flags") for b in bodies]
    cases.append(Case("ofrep flag key NUL", "POST", f"{base}/a%00b", b"{}", auth="flags"))
    cases.append(Case("ofrep no auth", "POST", base, b"{}", auth="none"))
    cases.append(Case("ofrep config no auth", "GET", "/ofrep/v1/configuration", auth="none"))
    cases.append(Case("ofrep config ingest key", "GET", "/ofrep/v1/configuration", auth="ingest"))
    return cases


def slack_cases() -> list[Case]:
    form = "application/x-www-form-urlencoded"
    signed_bodies: list[tuple[str, bytes, str]] = [
        ("json array", b"[1, 2]", "application/json"),
        ("json string", b'"hello"', "application/json"),
        ("json null", b"null", "application/json"),
        ("event without event", b'{"type": "event_callback", "event_id": "Ev1"}', "application/json"),
        ("event is string", b'{"type": "event_callback", "event_id": "Ev2", "event": "x"}', "application/json"),
        ("url_verification no challenge", b'{"type": "url_verification"}', "application/json"),
        ("not json", b"{nope", "application/json"),
        ("payload not json", urlencode({"payload": "{nope"}).encode(), form),
        ("payload array", urlencode({"payload": "[1]"}).encode(), form),
        ("payload string", urlencode({"payload": '"x"'}).encode(), form),
        ("payload empty object", urlencode({"payload": "{}"}).encode(), form),
        ("actions not list", urlencode({"payload": '{"type": "block_actions", "actions": "x"}'}).encode(), form),
        ("actions of numbers", urlencode({"payload": '{"type": "block_actions", "actions": [1]}'}).encode(), form),
        ("view_submission no view", urlencode({"payload": '{"type": "view_submission"}'}).encode(), form),
        ("command without fields", urlencode({"command": "/cost"}).encode(), form),
        ("unknown command", urlencode({"command": "/nope", "text": "x"}).encode(), form),
        ("empty form", b"", form),
        ("invalid utf-8", b"command=%2Fcost&text=\xff\xfe", form),
    ]
    cases = [
        Case(f"slack signed {n}", "POST", "/slack/events", b, auth="none", headers={"Content-Type": ct}, slack="signed")
        for n, b, ct in signed_bodies
    ]
    for stamp in ["abc", "0", "1e9", "-1", "12345678901234567890", "x" * 40]:
        cases.append(
            Case(
                f"slack timestamp {stamp!r}",
                "POST",
                "/slack/events",
                b"command=%2Fcost",
                auth="none",
                headers={"Content-Type": form},
                slack=stamp,
            )
        )
    return cases


def other_cases() -> list[Case]:
    return [
        Case("healthz with query", "GET", "/healthz?x=%00", auth="none"),
        Case("metrics with query", "GET", "/metrics?name[]=%00", auth="none"),
        Case("openapi", "GET", "/openapi.json", auth="none"),
        Case("events wrong method", "GET", "/v1/events", auth="none"),
        Case("unknown path", "GET", "/v1/nothing", auth="none"),
    ]


def all_cases() -> list[Case]:
    return (
        event_cases()
        + request_cases()
        + outbox_cases()
        + webhook_cases()
        + ofrep_cases()
        + slack_cases()
        + (other_cases())
    )
