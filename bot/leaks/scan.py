"""The scan at ingest: every stored prompt, context and response against the other tenants' fingerprints.

One Aho-Corasick pass per event finds the other tenants' identifiers, the canary prefix and the
literal each pattern needs; a canary candidate is hashed and looked up among the active canaries
(stored hashed), so creating one changes no automaton. Patterns without such a literal run as
one combined regex of the other tenants' patterns. Context doc_ids are checked against declared and learned owners, and
counted (per tenant and UTC date) until the counts settle who owns them.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ahocorasick
from sqlalchemy.engine import Connection

from bot.leaks.config import LeaksConfig, TenantFingerprint
from storage import leaks as leak_store
from storage.engine import Database

PARTS = ("prompt", "context", "response")
SEP = "\n\x00\n"
MAX_HITS_PER_REQUEST = 5
PER_TENANT_AUTOMATA = 200
FLUSH_EVERY_S = 5.0
DAY_MS = 86_400_000
_CANARY_CHARS = frozenset(leak_store.CANARY_ALPHABET)


def required_literal(pattern: str) -> str | None:
    """The longest run of literal characters (3 or more) every match of ``pattern`` contains, lower-cased.

    The automaton looks for it in the same pass as the identifiers, so a regex only runs on
    the few texts that contain its literal; ``None`` when the pattern has no such run.
    """
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    best, run = "", ""
    for op, av in _parser.parse(pattern):
        if op is c.LITERAL:
            run += chr(av)
            continue
        best, run = max(best, run, key=len), ""
    best = max(best, run, key=len)
    return best.lower() if len(best) >= 3 else None


def _boundary_before(text: str, start: int) -> bool:
    if start == 0:
        return True
    c = text[start - 1]
    if not c.isalnum():
        return True
    return start >= 2 and text[start - 2] == "\\" and c in "ntr"  # a JSON escape such as \n before the word


def _boundary_after(text: str, end: int) -> bool:
    return end >= len(text) or not text[end].isalnum()


@dataclass
class Fingerprints:
    """What the scan matches, built from the config once and from the database when its version moves."""

    stored: leak_store.StoredFingerprints
    automaton: Any
    others_regex: dict[str, re.Pattern[str] | None]
    prefixes: tuple[tuple[str, str], ...]
    all_prefixes: tuple[str, ...]
    own_identifiers: dict[str, frozenset[str]]


class Scanner:
    """Built once per process; ``prepare`` is what ingestion calls for each batch (thread-safe)."""

    def __init__(self, tenants: dict[str, TenantFingerprint], cfg: LeaksConfig) -> None:
        self.tenants = tenants
        self.cfg = cfg
        self.shared_sources = frozenset(cfg.shared_sources)
        self._lock = threading.Lock()
        self._fp: Fingerprints | None = None
        self._prefixes = tuple((p, t) for t, fp in tenants.items() for p in fp.doc_prefixes)
        self._unanchored: dict[str, list[str]] = {}
        """Patterns without a literal the automaton can find first: these run on every event."""
        self._own: dict[str, frozenset[str]] = {}
        """Per tenant, the automaton's words that only ever point at the tenant itself: skipped at once."""
        self._entries: dict[str, list[tuple[Any, ...]]] = {}
        self._automata: dict[str, tuple[Any, frozenset[str]]] = {}
        self._automaton = self._build_automaton()
        self._pending: Counter[tuple[str, str, int]] = Counter()
        self._flushed = time.monotonic()
        self._seen: dict[str, tuple[set[tuple[str, int]], float]] = {}
        """Per unsettled document: the (tenant, day) pairs this process counted, and when it last settled it."""

    def settle_candidates(self, counts: Counter[tuple[str, str, int]]) -> list[str]:
        """The documents whose ownership this batch may decide, so the others skip the query.

        A decision needs a new tenant (shared) or enough dates (owned): a document is checked when
        this process counts a (tenant, day) pair it had not counted, when it has counted enough
        dates, and at least once a minute while it is served (other processes count too).
        """
        now = time.monotonic()
        if len(self._seen) > 200_000:
            self._seen.clear()
        out = []
        for doc_id, tenant, day in counts:
            pairs, last = self._seen.get(doc_id, (set(), 0.0))
            new_pair = (tenant, day) not in pairs
            pairs.add((tenant, day))
            if new_pair or len({d for _, d in pairs}) >= self.cfg.owner_min_days or now - last >= 60:
                out.append(doc_id)
                last = now
            self._seen[doc_id] = (pairs, last)
        return out

    def record_documents(self, conn: Connection, counts: Counter[tuple[str, str, int]], now: datetime) -> None:
        """Count documents served, and settle the owners these counts may decide, in the caller's transaction.

        Counts that cannot decide anything yet (a (tenant, day) pair already counted, on a
        document seen on fewer dates than needed) wait in memory and are written every
        ``FLUSH_EVERY_S``, or with the first batch that makes their document a candidate: the
        first day of a launch then costs one small write every few seconds instead of one per batch.
        A crash loses at most those few seconds of counts, which only delays what is learned.
        """
        with self._lock:
            candidates = set(self.settle_candidates(counts))
            self._pending.update(counts)
            clock = time.monotonic()
            if clock - self._flushed >= FLUSH_EVERY_S:
                due, self._pending, self._flushed = self._pending, Counter(), clock
            else:
                due = Counter({k: n for k, n in self._pending.items() if k[0] in candidates})
                for k in due:
                    del self._pending[k]
        leak_store.add_doc_days(conn, due)
        if candidates:
            cfg = self.cfg
            leak_store.settle_owners(
                conn, candidates, min_requests=cfg.owner_min_requests, min_days=cfg.owner_min_days, now=now
            )

    def _build_automaton(self) -> Any:
        """Identifiers, the canary prefix, and the literal every pattern needs (a regex runs only where it occurs)."""
        automaton = ahocorasick.Automaton()
        by_word: dict[str, list[str]] = {}
        for tenant, fp in self.tenants.items():
            for ident in fp.identifiers:
                by_word.setdefault(ident.lower(), []).append(tenant)
        entries: dict[str, list[tuple[Any, ...]]] = {w: [("id", w, tuple(o))] for w, o in by_word.items()}
        entries.setdefault(leak_store.CANARY_PREFIX, []).append(("canary", leak_store.CANARY_PREFIX))
        for tenant, fp in self.tenants.items():
            for pattern in fp.patterns:
                literal = required_literal(pattern)
                if literal is None:
                    self._unanchored.setdefault(tenant, []).append(pattern)
                else:
                    entries.setdefault(literal, []).append(("pattern", literal, tenant, re.compile(pattern)))
        own: dict[str, set[str]] = {}
        for word, values in entries.items():
            automaton.add_word(word, (word, tuple(values)))
            owners = {o for v in values if v[0] == "id" for o in v[2]} | {v[2] for v in values if v[0] == "pattern"}
            if len(owners) == 1 and all(v[0] != "canary" for v in values):
                own.setdefault(owners.pop(), set()).add(word)
        self._own = {t: frozenset(words) for t, words in own.items()}
        self._entries = entries
        automaton.make_automaton()
        return automaton

    def automaton_for(self, tenant: str) -> tuple[Any, frozenset[str]]:
        """The automaton a tenant's event is scanned with, and the words in it to ignore.

        With up to ``PER_TENANT_AUTOMATA`` configured tenants each gets its own automaton
        without its own words (its traffic mentions them all the time, and every mention
        would come back to Python only to be dropped); beyond that, the shared one and a filter.
        """
        built = self._automata.get(tenant)
        if built is not None:
            return built
        own = self._own.get(tenant, frozenset())
        if not own or len(self.tenants) > PER_TENANT_AUTOMATA:
            return self._automaton, own
        automaton = ahocorasick.Automaton()
        for word, values in self._entries.items():
            if word not in own:
                automaton.add_word(word, (word, tuple(values)))
        automaton.make_automaton()
        self._automata[tenant] = (automaton, frozenset())
        return self._automata[tenant]

    def fingerprints(self, conn: Connection) -> Fingerprints:
        """The current fingerprints: one cheap read of the version row, a reload only when it moved."""
        version = leak_store.get_version(conn)  # once per batch: a new canary counts from the next batch on
        fp = self._fp
        if fp is not None and fp.stored.version == version:
            return fp
        with self._lock:
            if self._fp is None or self._fp.stored.version != version:
                stored = leak_store.load_fingerprints(conn)
                self._fp = Fingerprints(
                    stored=stored,
                    automaton=self._automaton,
                    others_regex={},
                    prefixes=self._prefixes,
                    all_prefixes=tuple(p for p, _ in self._prefixes),
                    own_identifiers=self._own,
                )
            return self._fp

    def _others(self, fp: Fingerprints, tenant: str) -> re.Pattern[str] | None:
        if tenant not in fp.others_regex:
            groups = [
                f"(?P<t{i}>{'|'.join(f'(?:{p})' for p in pats)})"
                for i, (owner, pats) in enumerate(self._unanchored.items())
                if owner != tenant
            ]
            fp.others_regex[tenant] = re.compile("|".join(groups)) if groups else None
        return fp.others_regex[tenant]

    def _owner_of_prefix(self, doc_id: str) -> str | None:
        for prefix, tenant in self._prefixes:
            if doc_id.startswith(prefix):
                return tenant
        return None

    def prepare(
        self, db: Database, rows: Sequence[dict[str, Any]], bodies: Sequence[dict[str, Any]], raws: Sequence[Any]
    ) -> BatchScan:
        """Scan a batch outside the write lock; the result is written with the batch (``BatchScan.write``).

        The common case (nothing foreign) stays in one automaton pass and a filter per event;
        everything else happens in ``_text_hits`` and ``_doc_hits`` only when there is a candidate.
        """
        with db.engine.connect() as conn:
            fp = self.fingerprints(conn)
        result = BatchScan(self)
        unanchored = bool(self._unanchored)
        automata = self._automata
        owners = fp.stored.owners
        shared = self.shared_sources
        prefixed = bool(fp.all_prefixes)
        for row, body, raw in zip(rows, bodies, raws, strict=True):
            tenant = row["tenant"]
            prompt, context_json, response = body["prompt"] or "", body["context"] or "", body["response"] or ""
            lowered = f"{prompt}{SEP}{context_json}{SEP}{response}".lower()
            automaton, own = automata.get(tenant) or self.automaton_for(tenant)
            found = list(automaton.iter(lowered))
            if own and found:
                found = [h for h in found if h[1][0] not in own]
            hits = (
                self._text_hits(fp, row, (prompt, context_json, response), lowered, found)
                if found or unanchored
                else []
            )
            context = raw.get("context")
            if context:
                for doc in context:
                    doc_id = doc.get("doc_id")
                    if not doc_id or doc.get("source") in shared:
                        continue
                    owner = (self._owner_of_prefix(doc_id) if prefixed else None) or owners.get(doc_id)
                    if owner is None:
                        result.docs.setdefault((tenant, row["request_id"]), []).append((doc_id, row["ts_ms"] // DAY_MS))
                    elif owner and owner != tenant:
                        hits.append(_hit(row, "foreign_document", owner, "context", doc_id))
            if hits:
                result.hits[(tenant, row["request_id"])] = _dedupe(hits)[:MAX_HITS_PER_REQUEST]
        return result

    def _text_hits(
        self, fp: Fingerprints, row: dict[str, Any], parts: tuple[str, ...], lowered: str, found: list[Any]
    ) -> list[dict[str, Any]]:
        """Check the automaton's candidates (boundaries, canary hashes, pattern regexes) in one event's text."""
        tenant = row["tenant"]
        joined = SEP.join(parts)
        same_len = len(lowered) == len(joined)
        hits: list[dict[str, Any]] = []
        regexes: list[tuple[str, re.Pattern[str]]] = []
        for end, (word, values) in found:
            start = end - len(word) + 1
            for value in values:
                kind = value[0]
                if kind == "id":
                    if not (_boundary_before(lowered, start) and _boundary_after(lowered, end + 1)):
                        continue
                    span = joined[start : end + 1] if same_len else lowered[start : end + 1]
                    for source in value[2]:
                        if source != tenant:
                            hits.append(_hit(row, "identifier", source, _part(parts, start), span))
                elif kind == "canary":
                    candidate = lowered[start : start + leak_store.CANARY_LENGTH]
                    if len(candidate) != leak_store.CANARY_LENGTH or not _CANARY_CHARS.issuperset(
                        candidate[len(word) :]
                    ):
                        continue
                    source = fp.stored.canaries.get(leak_store.hash_canary(candidate))
                    if source is not None and source != tenant:
                        hits.append(_hit(row, "canary", source, _part(parts, start), candidate))
                elif value[2] != tenant and (value[2], value[3]) not in regexes:
                    regexes.append((value[2], value[3]))
        if self._unanchored:
            regex = self._others(fp, tenant)
            if regex is not None:
                names = list(self._unanchored)
                for m in regex.finditer(joined):
                    source = names[int(m.lastgroup[1:])]  # type: ignore[index]
                    hits.append(_hit(row, "identifier", source, _part(parts, m.start()), m.group()))
                    if len(hits) >= MAX_HITS_PER_REQUEST:
                        break
        for source, regex in regexes:
            for m in regex.finditer(joined):
                hits.append(_hit(row, "identifier", source, _part(parts, m.start()), m.group()))
                if len(hits) >= MAX_HITS_PER_REQUEST:
                    break
        return hits


def _part(parts: list[str], offset: int) -> str:
    edge = 0
    for name, part in zip(PARTS, parts, strict=True):
        edge += len(part) + len(SEP)
        if offset < edge:
            return name
    return PARTS[-1]


def _hit(row: dict[str, Any], cause: str, source: str, part: str, span: str) -> dict[str, Any]:
    return {
        "received_ms": row["received_ms"],
        "ts_ms": row["ts_ms"],
        "tenant": row["tenant"],
        "source_tenant": source,
        "cause": cause,
        "request_id": row["request_id"],
        "part": part,
        "span": span[:300],
        "path": row["path"] or "",
        "prompt_version": row["prompt_version"],
        "model": row["model"],
    }


def _dedupe(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for h in hits:
        k = (h["cause"], h["source_tenant"], h["span"].lower())
        if k not in seen:
            seen.add(k)
            out.append(h)
    return out


@dataclass
class BatchScan:
    """What one batch's scan found, written in the batch's own transaction for the events actually stored."""

    scanner: Scanner
    hits: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    docs: dict[tuple[str, str], list[tuple[str, int]]] = field(default_factory=dict)

    def write(self, conn: Connection, stored: dict[tuple[str, str], int], now: datetime) -> None:
        leak_store.insert_hits(conn, [h for key, hs in self.hits.items() if key in stored for h in hs])
        counts: Counter[tuple[str, str, int]] = Counter()
        for (tenant, request_id), docs in self.docs.items():
            if (tenant, request_id) in stored:
                for doc_id, day in docs:
                    counts[(doc_id, tenant, day)] += 1
        if counts:
            self.scanner.record_documents(conn, counts, now)
