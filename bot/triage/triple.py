"""The prompt-context-version triple of one logged request, and what changed since the previous prompt version."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlmodel import Session

from storage import triage as store
from storage.models import LLMRequest, RequestBody

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class ContextDoc:
    doc_id: str
    source: str
    text: str
    score: float | None


@dataclass(frozen=True)
class VersionChange:
    """The previous prompt version of this tenant and intent, and the system-prompt sentences that changed."""

    previous: str
    first_seen: datetime
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Triple:
    """Everything that produced the answer: prompt and prior turns, retrieval context, versions."""

    request: LLMRequest
    system: str | None
    turns: list[tuple[str, str]]
    question: str | None
    docs: list[ContextDoc]
    response: str | None
    change: VersionChange | None
    labels: dict[str, str]
    body_purged: bool

    @property
    def prior_turns(self) -> list[tuple[str, str]]:
        return self.turns[:-1] if self.question is not None else self.turns

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.request.ts_ms / 1000, UTC)


def _json(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _docs(raw: str | None) -> list[ContextDoc]:
    docs = _json(raw)
    if not isinstance(docs, list):
        return []
    found = []
    for doc in docs:
        if isinstance(doc, dict):
            score = doc.get("score")
            found.append(
                ContextDoc(
                    doc_id=str(doc.get("doc_id") or "?"),
                    source=str(doc.get("source") or ""),
                    text=str(doc.get("text") or ""),
                    score=float(score) if isinstance(score, int | float) else None,
                )
            )
    return found


def _system(prompt: Any) -> str | None:
    return prompt.get("system") if isinstance(prompt, dict) and isinstance(prompt.get("system"), str) else None


def _change(session: Session, request: LLMRequest, system: str | None) -> VersionChange | None:
    versions = store.list_prompt_versions(session=session, tenant=request.tenant, intent=request.intent)
    names = [name for name, _ in versions]
    if request.prompt_version not in names or names.index(request.prompt_version) == 0:
        return None
    previous, first_seen = versions[names.index(request.prompt_version) - 1]
    before = store.get_latest_prompt(
        session=session, tenant=request.tenant, prompt_version=previous, before_ms=request.ts_ms + 1
    )
    old_system = _system(_json(before))
    change = VersionChange(previous=previous, first_seen=datetime.fromtimestamp(first_seen, UTC))
    if old_system is None or system is None:
        return change
    old, new = _SENTENCE.split(old_system.strip()), _SENTENCE.split(system.strip())
    diff = list(difflib.ndiff(old, new))
    added = [line[2:] for line in diff if line.startswith("+ ")]
    removed = [line[2:] for line in diff if line.startswith("- ")]
    return VersionChange(previous, change.first_seen, added, removed)


def load_triple(session: Session, request: LLMRequest, body: RequestBody | None) -> Triple:
    """Read the stored bodies of a request into its triple (bodies may be purged after retention)."""
    prompt = _json(body.prompt if body else None)
    system = _system(prompt)
    turns: list[tuple[str, str]] = []
    for message in (prompt or {}).get("messages") or [] if isinstance(prompt, dict) else []:
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            turns.append((str(message.get("role") or "?"), message["content"]))
    question = turns[-1][1] if turns and turns[-1][0] == "user" else None
    labels = _json(request.labels)
    return Triple(
        request=request,
        system=system,
        turns=turns,
        question=question,
        docs=_docs(body.context if body else None),
        response=body.response if body else None,
        change=_change(session, request, system),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        body_purged=body is None,
    )
