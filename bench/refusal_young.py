"""Issue 16 part of bench/refusal_sim.py: the refusal shift test on young history, every look from the launch.

    .venv/bin/python bench/refusal_sim.py --launch [--quick]

At each 5-minute look the detector's own split of history (``bot.refusals.shift.spans``) picks the
window and the baseline; a short baseline's rate is taken one standard error up as the detector does.
A doubling after 1, 2 and 7 days must be found within 2 hours; 1, 2 and 30 clean days stay quiet.
"""

from __future__ import annotations

import math
import os

import numpy as np
from refusal_sim import BASELINE, CATEGORIES, PARAMS, PER_DAY, STEP_MIN, WINDOW, episodes, looks, traffic

from bot.refusals import shift
from bot.refusals.stats import baseline_rate, cusum, is_shift


def young_looks(n: np.ndarray, k: np.ndarray, start: int, stop: int) -> list[int]:
    """Looks in [start, stop) while history is young: the detector's own split (``shift.spans``) at each look."""
    cn = np.concatenate([[0], np.cumsum(n)])
    ck = np.concatenate([[0], np.cumsum(k)])
    fired = []
    for t in range(max(start, 2), min(stop, len(n) + 1)):
        window_s, baseline_s = shift.spans(t * STEP_MIN * 60)
        w, b = window_s // (STEP_MIN * 60), baseline_s // (STEP_MIN * 60)
        a0 = t - w
        b0 = max(0, a0 - b)
        young = (a0 - b0) * STEP_MIN * 60 < shift.BASELINE_DAYS * 86400
        p = baseline_rate(int(cn[a0] - cn[b0]), int(ck[a0] - ck[b0]), PARAMS, margin_z=shift.YOUNG_Z if young else 0.0)
        if p is None:
            continue
        p1 = min(PARAMS.ratio * p, 0.999)
        wa, wb = math.log(p1 / p), math.log((1 - p1) / (1 - p))
        dk = ck[t] - ck[a0 : t + 1]
        dn = cn[t] - cn[a0 : t + 1]
        if float((wa * dk + wb * (dn - dk)).max()) < PARAMS.threshold:
            continue  # the uncapped CUSUM bounds the capped one: it cannot fire
        series = list(zip(n[a0:t].tolist(), k[a0:t].tolist(), strict=True))
        if is_shift(cusum(series, p, PARAMS), PARAMS, open_alarm=False):
            fired.append(t)
    return fired


def all_looks(n: np.ndarray, k: np.ndarray) -> list[int]:
    """Every look from the launch: young ones with the split history, then the full window and baseline."""
    full = BASELINE + WINDOW
    return young_looks(n, k, 0, full) + (looks(n, k, full) if len(n) >= full else [])


def launch(seeds: int) -> None:
    """Issue 16: a doubling after 1, 2 and 7 days of history, and 1, 2 and 30 clean days, every look from launch."""
    print("young history (every look from the launch, the detector's split of window and baseline):")
    for days in (1, 2, 7):
        found, early = [], 0
        for seed in range(seeds):
            rng = np.random.default_rng(500 + seed)
            rate = float(rng.choice(np.linspace(0.01, 0.05, len(CATEGORIES))))
            shift_at = days * PER_DAY + int(rng.integers(PER_DAY // 24, PER_DAY // 2))
            n, k = traffic(rng, days + 1, 2000, rate, shift_at, cycle=False)
            fired = all_looks(n, k)
            early += episodes([t for t in fired if t <= shift_at])
            after = [t for t in fired if t > shift_at]
            found.append((after[0] - shift_at) * STEP_MIN if after else None)
        within = sum(1 for m in found if m is not None and m <= 120)
        shown = ", ".join("-" if m is None else str(m) for m in found)
        print(f"  doubling after {days} d of history: found within 2 h {within}/{seeds} (minutes: {shown});", end="")
        print(f" false alarms before it: {early}")
    for days in (1, 2, 30):
        alarms, months = 0, 0
        for seed in range(seeds):
            rng = np.random.default_rng(2000 + seed)
            for c, rate in enumerate(np.linspace(0.01, 0.05, len(CATEGORIES))):
                volume = float(rng.uniform(300, 3000)) if c else 2000.0
                n, k = traffic(rng, days, volume, float(rate), None)
                alarms += episodes(all_looks(n, k))
                months += 1
        print(f"  {days} clean day(s): {alarms} false alarms in {months} categories, every look from the launch")
    print(f"  load average {os.getloadavg()[0]:.2f}")
