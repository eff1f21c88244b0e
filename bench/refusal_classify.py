"""How long refusal classification takes per ingested answer.

Run: python bench/refusal_classify.py (with the project installed)
Typical answers are 1-2 KB, built by joining the labelled non-refusal answers; the figure is the
mean over that corpus, taking the fastest of many short passes so other load on the machine
inflates it as little as possible. Target: <= 15 µs per typical answer.
"""

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.refusals.classify import RefusalPatterns, classify

DATA = Path(__file__).resolve().parent.parent / "tests" / "refusals" / "data" / "labelled_answers.jsonl"
TARGET_US = 15.0


def load(path: Path) -> list[dict]:
    """Read the labelled answers the benchmark replays."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def typical_answers(rows: list[dict], low: int = 1000, high: int = 2000) -> list[str]:
    """Join consecutive non-refusal answers into 1-2 KB texts, the size ingest sees."""
    answers, current = [], ""
    for row in rows:
        if row["refused"]:
            continue
        current = f"{current}\n\n{row['text']}" if current else row["text"]
        if len(current) >= low:
            answers.append(current[:high])
            current = ""
    return answers


def per_call_us(texts: list[str], run: Callable[[str], object], passes: int = 200) -> list[float]:
    """Fastest observed time per text, in µs, over several passes of the whole corpus."""
    best = [float("inf")] * len(texts)
    for _ in range(passes):
        for i, text in enumerate(texts):
            start = time.perf_counter_ns()
            run(text)
            elapsed = time.perf_counter_ns() - start
            if elapsed < best[i]:
                best[i] = elapsed
    return [ns / 1000 for ns in best]


def report(label: str, times: list[float], chars: list[int]) -> float:
    """Print one line of figures and return the mean."""
    mean = statistics.fmean(times)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
    print(
        f"{label:<34} n={len(times):>3}  mean={mean:6.2f} µs  p95={p95:6.2f} µs  max={max(times):6.2f} µs"
        f"  (avg {statistics.fmean(chars):.0f} chars)"
    )
    return mean


def main() -> int:
    """Measure classify() on typical answers, refusals, and the cheap paths."""
    rows = load(DATA)
    patterns = RefusalPatterns.default()
    typical = typical_answers(rows)
    refusals = [r["text"] for r in rows if r["refused"]]
    short = [r["text"] for r in rows if not r["refused"]]

    def by_text(text: str) -> object:
        return classify(refused=None, finish_reason="stop", text=text, patterns=patterns)

    def by_flag(text: str) -> object:
        return classify(refused=False, finish_reason="stop", text=text, patterns=patterns)

    def by_finish(text: str) -> object:
        return classify(refused=None, finish_reason="SAFETY", text=text, patterns=patterns)

    mean = report("typical answers (1-2 KB), text", per_call_us(typical, by_text), [len(t) for t in typical])
    report("labelled non-refusals, text", per_call_us(short, by_text), [len(t) for t in short])
    report("labelled refusals, text", per_call_us(refusals, by_text), [len(t) for t in refusals])
    report("client flag set", per_call_us(typical, by_flag), [len(t) for t in typical])
    report("finish_reason SAFETY", per_call_us(typical, by_finish), [len(t) for t in typical])
    verdict = "within" if mean <= TARGET_US else "OVER"
    print(f"typical answer: {mean:.2f} µs per classify() ({verdict} the {TARGET_US:.0f} µs target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
