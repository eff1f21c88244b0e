"""Screenshot triage end to end: rendered screenshots of logged answers, read by OCR and matched in the database.

    python bench/triage.py [--n 100000] [--shots 200] [--seed 3] [--out bench/out]
    python bench/triage.py --languages [--n 1000000] [--shots 25] [--fragments 50]   (bench/triage_languages.py)

Builds (once, cached in bench/out/) a SQLite corpus of ``--n`` logged requests whose answers come from
shared templates with small variations (many near-duplicates), then renders ``--shots`` screenshots of
random targets in three chat styles (light, dark, compact; widths 560-1000 px), a third of them cropped to
part of the answer, a third JPEG-compressed (quality 55-80), a third downscaled (0.7-0.85x). Each goes
through the real pipeline (image bytes -> decode -> OCR -> extract -> match -> triple and blast radius ->
card). Prints top-1 / top-3 accuracy and p50 / p95 times: whole pipeline, matching alone, OCR alone.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.demo.traffic import make_event
from bot.ingest.service import Writer, ingest
from bot.services import Services, build_services
from bot.triage.cards import outcome_card
from bot.triage.hints import normal
from bot.triage.pipeline import triage_image
from bot.triage.screenshot import crop_answer, downscale, render_chat, to_jpeg, to_png

OUT = Path(__file__).resolve().parent / "out"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BATCH = 5000
TEMPLATES = [
    "Your refund of {amount} for order {order} was approved on {date}. It reaches the card ending {card} within "
    "{n} business days. If it has not arrived by then, reply with the order number and I will escalate it.",
    "The {plan} plan includes {seats} seats and {gb} GB of storage per workspace. Extra seats cost {amount} each "
    "per month and are prorated from the day they are added. You currently use {n} of your seats.",
    "I could not find an invoice numbered {order} in your account. Invoices from {date} onward are listed under "
    "Settings > Billing > Invoices; older ones are in the archive. The last invoice I can see is for {amount}.",
    "Error E{code} means the export job {job} ran out of quota after {n} files. Your {plan} quota resets on {date}; "
    "until then you can export up to {seats} files per day, or ask an admin to request a temporary raise.",
    "Your flight {flight} to {city} is confirmed for {date}, seat {seat}. Check-in opens {n} hours before "
    "departure and the baggage allowance on this fare is {gb} kg. A change costs {amount} plus the fare difference.",
    "Order {order} shipped from our {city} warehouse on {date} with tracking number {tracking}. It usually takes "
    "{n} days; the carrier shows it as in transit. The parcel weighs {gb} kg and needs a signature on delivery.",
    "Absolutely! Under our Galactic Refund Policy you are entitled to a full refund of {amount} plus a "
    "complimentary pet llama, delivered within {n} business days to {city}. Llamas cannot be returned once named.",
    "The API key ending {card} was rotated on {date}. Requests signed with the old key fail with error E{code} "
    "after a grace period of {n} hours. Update the secret in job {job} and redeploy to clear the errors.",
    "Your appointment with Dr. {name} is booked for {date} at {clock} in room {seat}. Please arrive {n} minutes "
    "early and bring the referral letter {order}. Cancelling later than 24 hours before costs {amount}.",
    "The {plan} workspace {job} has {seats} members, {n} of them admins. Single sign-on is enforced since {date}; "
    "members who still sign in with a password are asked to switch at their next login from {city}.",
]
CITIES = ["Lisbon", "Oslo", "Denver", "Osaka", "Nairobi", "Lima", "Porto", "Krakow", "Austin", "Hanoi", "Perth"]
NAMES = ["Alvarez", "Brennan", "Chowdhury", "Dubois", "Eriksen", "Fujita", "Garcia", "Haddad", "Ivanova"]
PLANS = ["Starter", "Team", "Business", "Enterprise"]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        amount=f"${rng.randint(5, 999)}.{rng.randint(0, 99):02d}",
        order=f"{rng.choice('ABCDEFGHJK')}{rng.randint(10000, 99999)}",
        date=f"{rng.choice(['March', 'April', 'May', 'June', 'July'])} {rng.randint(1, 28)}",
        card=f"{rng.randint(1000, 9999)}",
        n=rng.randint(2, 30),
        plan=rng.choice(PLANS),
        seats=rng.randint(3, 500),
        gb=rng.randint(5, 200),
        code=rng.randint(400, 599),
        job=f"job-{rng.randint(100, 9999)}",
        flight=f"{rng.choice(['AF', 'LH', 'KL', 'BA'])}{rng.randint(100, 9999)}",
        city=rng.choice(CITIES),
        seat=f"{rng.randint(1, 40)}{rng.choice('ABCDEF')}",
        tracking=f"1Z{rng.randint(10**9, 10**10 - 1)}",
        name=rng.choice(NAMES),
        clock=f"{rng.randint(8, 17)}:{rng.choice(['00', '15', '30', '45'])}",
    )


def corpus_events(n: int, seed: int) -> Any:
    """n events over the week before NOW: 80% from the bench templates above, 20% from the demo's own."""
    rng = random.Random(seed)
    for index in range(n):
        ts = NOW - timedelta(seconds=rng.uniform(60, 7 * 86400))
        event = make_event(rng, ts)
        event["request_id"] = f"req_{index:08d}{rng.getrandbits(32):08x}"
        if rng.random() < 0.8:
            event["status"], event["finish_reason"] = "ok", "stop"
            event["response"] = _fill(rng, rng.choice(TEMPLATES))
        yield event


def build_corpus(n: int, seed: int, out: Path = OUT) -> Services:
    path = out / f"triage-{n}-{seed}.db"
    fresh = not path.exists()
    out.mkdir(exist_ok=True)
    settings = load_settings(
        data_dir=out, database_url=f"sqlite:///{path}", config_file=out / "none.toml", scheduler=False
    )
    services = build_services(settings)
    if fresh:
        started = time.perf_counter()
        batch: list[dict[str, Any]] = []
        for event in corpus_events(n, seed):
            batch.append(event)
            if len(batch) == BATCH:
                ingest(services.db, batch, cfg=services.ingest, writer=Writer(None, None), now=NOW)
                batch = []
        if batch:
            ingest(services.db, batch, cfg=services.ingest, writer=Writer(None, None), now=NOW)
        print(f"built {n:,} requests in {time.perf_counter() - started:.0f} s -> {path}")
    else:
        print(f"reusing {path}")
    started = time.perf_counter()
    indexed = services.db.text_index.catch_up() if services.db.text_index is not None else 0
    if indexed:  # the service's indexer does this while ingesting; here it is not running
        print(f"text-indexed {indexed:,} answers in {time.perf_counter() - started:.0f} s")
    return services


def pick_targets(services: Services, shots: int, seed: int) -> list[dict[str, Any]]:
    """Random logged answers whose full text is unique in the corpus (text alone can pin them down)."""
    from sqlalchemy import text

    rng = random.Random(seed + 1)
    with services.db.session() as session:
        top = session.execute(text("SELECT max(id) FROM requests")).scalar_one()
        targets: list[dict[str, Any]] = []
        while len(targets) < shots:
            row_id = rng.randint(1, top)
            row = session.execute(
                text(
                    "SELECT r.request_id, b.response, b.prompt FROM requests r JOIN request_bodies b ON b.id = r.id "
                    "WHERE r.id = :id AND b.response IS NOT NULL"
                ),
                {"id": row_id},
            ).first()
            if row is None:
                continue
            same = session.execute(
                text("SELECT count(*) FROM request_bodies WHERE response = :r"), {"r": row[1]}
            ).scalar_one()
            if same == 1:
                prompt = orjson.loads(row[2]) if row[2] else {}
                question = (prompt.get("messages") or [{}])[-1].get("content")
                targets.append({"request_id": row[0], "response": row[1], "question": question})
    return targets


def screenshot(rng: random.Random, index: int, target: dict[str, Any]) -> tuple[bytes, str]:
    style = ("light", "dark", "compact")[index % 3]
    width = rng.choice((560, 680, 800, 1000))
    question = target["question"] if rng.random() < 0.7 else None
    image = render_chat(question, target["response"], style=style, width=width, timestamp=None)
    variant = index // 3 % 3
    if variant == 0:
        fraction = rng.uniform(0.5, 0.8)
        return to_png(crop_answer(image, fraction, from_end=rng.random() < 0.5)), f"{style}/crop"
    if variant == 1:
        return to_jpeg(image, rng.randint(55, 80)), f"{style}/jpeg"
    return to_png(downscale(image, rng.uniform(0.7, 0.85))), f"{style}/downscale"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="logged requests in the corpus")
    parser.add_argument("--shots", type=int, default=200, help="screenshots to triage")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT, help="folder the corpus is cached in")
    parser.add_argument("--languages", action="store_true", help="the eight-language matrix (triage_languages.py)")
    parser.add_argument("--fragments", type=int, default=50, help="typed quotes per language (--languages)")
    parser.add_argument("--only", default="", help="with --languages: a comma-separated subset, e.g. ko,th")
    args = parser.parse_args()
    if args.languages:
        from triage_languages import run

        run(args.n, args.shots, args.fragments, args.seed, args.out, [x for x in args.only.split(",") if x] or None)
        return
    services = build_corpus(args.n, args.seed, args.out)
    targets = pick_targets(services, args.shots, args.seed)
    rng = random.Random(args.seed + 2)
    from bot.triage.ocr import warm_up

    warm_up()
    totals, matches, cards_ms, ocrs = [], [], [], []
    top1 = top3 = 0
    misses: list[str] = []
    by_kind: dict[str, list[int]] = {}
    for index, target in enumerate(targets):
        data, kind = screenshot(rng, index, target)
        started = time.perf_counter()
        outcome = triage_image(services, data, tenants=None, now=NOW)
        outcome_card(outcome).to_message()
        totals.append((time.perf_counter() - started) * 1000)
        matches.append(outcome.timings_ms["match"])
        cards_ms.append(outcome.timings_ms["match"] + outcome.timings_ms.get("card_data", 0.0))
        ocrs.append(outcome.timings_ms["ocr"])
        ranked = [c.request.request_id for c in outcome.result.candidates]
        hit1 = ranked[:1] == [target["request_id"]]
        hit3 = target["request_id"] in ranked[:3]
        top1 += hit1
        top3 += hit3
        by_kind.setdefault(kind.split("/")[1], []).append(int(hit1))
        if not hit1:
            read = normal(outcome.read.answer if outcome.read else "")[:80]
            misses.append(f"  {kind}: {target['request_id']} -> {ranked[:3]} ({outcome.kind}); read '{read}…'")
    shots = len(targets)
    print(f"corpus {args.n:,} requests, {shots} screenshots (light/dark/compact; crop/jpeg/downscale)")
    print(f"top-1 {100 * top1 / shots:.1f}%  top-3 {100 * top3 / shots:.1f}%")
    print("top-1 by variant: " + ", ".join(f"{k} {100 * sum(v) / len(v):.0f}%" for k, v in sorted(by_kind.items())))
    print(f"image bytes -> card: p50 {pct(totals, 0.5):.0f} ms  p95 {pct(totals, 0.95):.0f} ms")
    print(f"matching alone:      p50 {pct(matches, 0.5):.0f} ms  p95 {pct(matches, 0.95):.0f} ms")
    print(f"matching + triple + blast radius: p50 {pct(cards_ms, 0.5):.0f} ms  p95 {pct(cards_ms, 0.95):.0f} ms")
    mean = statistics.mean(ocrs)
    print(f"OCR alone:           p50 {pct(ocrs, 0.5):.0f} ms  p95 {pct(ocrs, 0.95):.0f} ms  mean {mean:.0f} ms")
    if misses:
        print("misses:\n" + "\n".join(misses[:20]))
    services.close()


if __name__ == "__main__":
    main()
