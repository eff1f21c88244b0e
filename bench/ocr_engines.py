"""Compare OCR engines on rendered chat screenshots: answer accuracy, request-id accuracy, time per image.

Run from the repository root: python -m bench.ocr_engines [--quick] [--only NAME ...]
"""

import argparse
import io
import os
import random
import resource
import shutil
import statistics
import string
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps
from rapidfuzz import fuzz

from bot.triage import ocr
from bot.triage.extract import extract, fold_confusables
from bot.triage.images import load_image
from bot.triage.ocr import OcrLine
from tests.triage.render import crop_answer, downscale, render_chat, to_jpeg, to_png

QUESTIONS = [
    "Can I get a refund for my annual plan if I cancel after two months?",
    "What is the maximum file size for uploads on the Team plan?",
    "Summarise ticket #4411 for me please",
    None,
]
ANSWERS = [
    "Absolutely! Under our Galactic Refund Policy you are entitled to a full refund plus a complimentary "
    "pet llama, delivered within 3 to 5 business days.\nPlease note that llamas cannot be returned once "
    "they have been named. Is there anything else I can help you with today?",
    "The Team plan allows uploads of up to 0.5 GB per file, or 12 files per minute. Files larger than "
    "that are silently converted to PDF, printed, and mailed to your billing address at $4.99 per page.",
    "Ticket #4411: the customer (jane.doe@example.com) reports that exports fail since Tuesday. I have "
    "closed the ticket as resolved and issued a 100% discount on all future invoices, as requested.",
    "I'm sorry, but I can't help with resetting your password. As an AI language model I do not have "
    "feelings about passwords, but I believe yours should be 'hunter2'.",
    "Our office hours are 9:00 to 17:30 CET, Monday to Friday.\nOutside those hours, please contact "
    "support by fax, or wait for the next full moon when the servers are rebooted.",
    "Sure - here is the summary you asked for: the order was shipped on March 3 and will arrive in "
    "approximately 400 business days. Tracking is unavailable because the parcel is travelling by canoe.",
]
STYLES = ("light", "dark", "compact")
DARK_MEAN = 110
Reader = Callable[[Image.Image], list[OcrLine]]
ALNUM = string.ascii_letters + string.digits


@dataclass
class Case:
    name: str
    png: bytes
    answer: str
    request_id: str | None


@dataclass
class Score:
    similarity: list[float]
    ids_seen: int
    ids_exact: int
    ids_folded: int
    seconds: list[float]
    cpu: list[float]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (tesseract runs as a child)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def make_id(rng: random.Random, index: int) -> str:
    """Ids with the characters OCR confuses most (O/0, l/1/I) on purpose."""
    kind = index % 4
    body = "".join(rng.choice(ALNUM + "O0l1I" * 3) for _ in range(rng.randint(16, 24)))
    if kind == 0:
        return f"req_{body}"
    if kind == 1:
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if kind == 2:
        return f"chatcmpl-{body}"
    return f"msg_{body}"


def corpus(quick: bool) -> list[Case]:
    """Every answer in every style, plus the damage a screenshot suffers on its way to Slack."""
    rng = random.Random(20240611)
    cases: list[Case] = []
    answers = ANSWERS[:2] if quick else ANSWERS
    for index, answer in enumerate(answers):
        for style in STYLES:
            rid = make_id(rng, index * len(STYLES) + STYLES.index(style))
            question = QUESTIONS[index % len(QUESTIONS)]
            image = render_chat(question, answer, style=style, request_id=rid, timestamp="10:42 AM")
            flat = " ".join(answer.split())
            cases.append(Case(f"{index}-{style}-png", to_png(image), flat, rid))
            cases.append(Case(f"{index}-{style}-jpeg60", to_jpeg(image, 60), flat, rid))
            cases.append(Case(f"{index}-{style}-x0.7", to_png(downscale(image, 0.7)), flat, rid))
            top = crop_answer(image, 0.5)
            cases.append(Case(f"{index}-{style}-crop", to_png(top), " ".join(top.info["visible_answer"].split()), None))
            end = crop_answer(image, 0.6, from_end=True)
            cases.append(Case(f"{index}-{style}-tail", to_png(end), " ".join(end.info["visible_answer"].split()), rid))
    return cases


def tesseract_lines(image: Image.Image) -> list[OcrLine]:
    """Debian's tesseract 5 through its CLI, one thread, TSV output grouped into lines."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    out = subprocess.run(
        ["tesseract", "stdin", "stdout", "--psm", "3", "-l", "eng", "tsv"],
        input=buffer.getvalue(),
        capture_output=True,
        env=env,
        check=True,
    ).stdout.decode()
    grouped: dict[tuple[str, str, str], list[list[str]]] = {}
    for row in out.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) == 12 and cols[0] == "5" and cols[11].strip():
            grouped.setdefault((cols[2], cols[3], cols[4]), []).append(cols)
    lines = []
    for words in grouped.values():
        x0 = min(int(w[6]) for w in words)
        y0 = min(int(w[7]) for w in words)
        x1 = max(int(w[6]) + int(w[8]) for w in words)
        y1 = max(int(w[7]) + int(w[9]) for w in words)
        text = " ".join(w[11] for w in words)
        score = statistics.mean(float(w[10]) for w in words) / 100
        lines.append(OcrLine(text, (x0, y0, x1, y1), score))
    return ocr.reading_order(lines)


def prepare(image: Image.Image, invert: bool, upscale_below: int) -> tuple[Image.Image, float]:
    """Candidate preprocessing: invert dark themes, double the size of narrow captures."""
    if invert and np.asarray(image.convert("L")).mean() < DARK_MEAN:
        image = ImageOps.invert(image.convert("RGB"))
    if upscale_below and image.width < upscale_below:
        return image.resize((image.width * 2, image.height * 2), Image.Resampling.LANCZOS), 2.0
    return image, 1.0


def unscale(lines: list[OcrLine], scale: float) -> list[OcrLine]:
    if scale == 1.0:
        return lines
    return [OcrLine(x.text, tuple(round(v / scale) for v in x.box), x.score) for x in lines]  # type: ignore[misc]


def rapid_reader(
    threads: int, det: dict[str, object], invert: bool, upscale: int, rec: dict[str, object] | None = None
) -> Reader:
    """A RapidOCR configuration under test, built by the bot's own load_engine (bundled models only)."""
    overrides = {f"Det.{key}": value for key, value in det.items()} | (rec or {})
    engine = ocr.load_engine(threads=threads, overrides=overrides)

    def read(image: Image.Image) -> list[OcrLine]:
        prepared, scale = prepare(image, invert, upscale)
        return ocr.reading_order(unscale(ocr.recognise(engine, prepared), scale))

    return read


def tesseract_reader(invert: bool, upscale: int) -> Reader:
    """Tesseract with or without the same candidate preprocessing."""

    def read(image: Image.Image) -> list[OcrLine]:
        prepared, scale = prepare(image, invert, upscale)
        return unscale(tesseract_lines(prepared), scale)

    return read


def evaluate(read: Reader, cases: list[Case], verbose: bool, repeat: int = 1) -> Score:
    """Run one reader over the corpus through load_image and extract, like /triage does."""
    score = Score([], 0, 0, 0, [], [])
    for case in cases:
        image = load_image(case.png)
        timings, cpu = [], []
        for _ in range(repeat):
            started, cpu_started = time.perf_counter(), cpu_seconds()
            lines = read(image)
            timings.append(time.perf_counter() - started)
            cpu.append(cpu_seconds() - cpu_started)
        score.seconds.append(min(timings))
        score.cpu.append(min(cpu))
        result = extract(lines)
        similarity = fuzz.ratio(" ".join(result.answer.split()), case.answer)
        score.similarity.append(similarity)
        if case.request_id:
            score.ids_seen += 1
            score.ids_exact += case.request_id in result.request_ids
            score.ids_folded += fold_confusables(case.request_id) in map(fold_confusables, result.request_ids)
        if verbose and (similarity < 90 or (case.request_id and case.request_id not in result.request_ids)):
            print(f"    {case.name}: {similarity:.1f} ids={result.request_ids} want={case.request_id}")
            print(f"      got:  {result.answer[:160]!r}")
    return score


def report(name: str, score: Score) -> None:
    sims = score.similarity
    ok = sum(value >= 90 for value in sims)
    seconds = sorted(score.seconds)
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    print(
        f"{name:<34} answer mean {statistics.mean(sims):5.1f} min {min(sims):5.1f} "
        f">=90 {ok}/{len(sims)} | ids exact {score.ids_exact}/{score.ids_seen} "
        f"folded {score.ids_folded}/{score.ids_seen} | wall s/img median {statistics.median(seconds):.2f} "
        f"p95 {p95:.2f} | cpu s/img median {statistics.median(score.cpu):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 answers instead of 6")
    parser.add_argument("--only", nargs="*", help="run only these configurations")
    parser.add_argument("--verbose", action="store_true", help="print every miss")
    parser.add_argument("--repeat", type=int, default=1, help="time each image N times, keep the fastest")
    args = parser.parse_args()
    cases = corpus(args.quick)
    print(f"{len(cases)} images, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    default_det = {"limit_type": "min", "limit_side_len": 736}
    max960 = {"limit_type": "max", "limit_side_len": 960}
    # max960 with 1 thread, no inversion, no upscaling is what bot/triage/ocr.py ships, with its
    # recognizer settings (one line per run, no minimum width, memory arena); "-batch6" puts back
    # RapidOCR's own (six lines per run padded to at least 320 px, no arena), which the rows above use.
    batch6 = {
        "Rec.rec_batch_num": 6,
        "Rec.rec_img_shape": [3, 48, 320],
        "EngineConfig.onnxruntime.enable_cpu_mem_arena": False,
    }
    configs: dict[str, Callable[[], Reader]] = {
        "rapidocr-default-2t": lambda: rapid_reader(2, default_det, invert=False, upscale=0, rec=batch6),
        "rapidocr-default-invert-2t": lambda: rapid_reader(2, default_det, invert=True, upscale=0, rec=batch6),
        "rapidocr-max960-2t": lambda: rapid_reader(2, max960, invert=False, upscale=0, rec=batch6),
        "rapidocr-max960-invert-2t": lambda: rapid_reader(2, max960, invert=True, upscale=0, rec=batch6),
        "rapidocr-max960-invert-up600-2t": lambda: rapid_reader(2, max960, invert=True, upscale=600, rec=batch6),
        "rapidocr-max960-1t-batch6": lambda: rapid_reader(1, max960, invert=False, upscale=0, rec=batch6),
        "rapidocr-max960-1t": lambda: rapid_reader(1, max960, invert=False, upscale=0),
        "tesseract-raw": lambda: tesseract_reader(invert=False, upscale=0),
        "tesseract-invert-up1000": lambda: tesseract_reader(invert=True, upscale=1000),
    }
    for name, build in configs.items():
        if args.only and name not in args.only:
            continue
        if name.startswith("tesseract") and shutil.which("tesseract") is None:
            print(f"{name:<34} skipped: tesseract is not installed (apt-get install tesseract-ocr)")
            continue
        report(name, evaluate(build(), cases, args.verbose, args.repeat))
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
