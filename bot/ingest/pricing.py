"""Model -> price lookup, so cost is known at ingest even when the client sends none."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.config import PriceOverride

SHIPPED = Path(__file__).with_name("prices.toml")
SNAPSHOT_SUFFIX = re.compile(
    r"[-@:](?:\d{4}-?\d{2}-?\d{2}|\d{2}-\d{2}|\d{3,}|v\d+(?:[.:]\d+)*|latest|preview)(?:[-@:].*)?"
)
"""What may follow a priced name for a model to count as a snapshot of it: a date,
a build number, a version or a channel, never another word (gpt-4o-mini is not gpt-4o)."""


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    output: float
    cached: float

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int) -> float:
        """USD; ``input_tokens`` counts cached tokens too, which are billed at the cached rate."""
        fresh = input_tokens - cached_tokens
        return (fresh * self.input + cached_tokens * self.cached + output_tokens * self.output) / 1_000_000


class PriceTable:
    """Exact match first, then the longest entry the model is a dated snapshot of."""

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = {k.lower(): v for k, v in prices.items()}
        self._by_length = sorted(self._prices, key=len, reverse=True)
        self._lookup = lru_cache(maxsize=4096)(self._find)

    @classmethod
    def load(cls, overrides: Mapping[str, PriceOverride] | None = None) -> PriceTable:
        data = tomllib.loads(SHIPPED.read_text())["prices"]
        prices = {name: _price(PriceOverride.model_validate(p)) for name, p in data.items()}
        for name, p in (overrides or {}).items():
            prices[name] = _price(p)
        return cls(prices)

    def _find(self, model: str) -> Price | None:
        name = model.lower().rsplit("/", 1)[-1]
        if name in self._prices:
            return self._prices[name]
        for entry in self._by_length:
            if name.startswith(entry) and SNAPSHOT_SUFFIX.fullmatch(name, len(entry)):
                return self._prices[entry]
        return None

    def price_of(self, model: str) -> Price | None:
        return self._lookup(model)

    def __contains__(self, model: str) -> bool:
        return self.price_of(model) is not None


def _price(p: PriceOverride) -> Price:
    return Price(input=p.input, output=p.output, cached=p.input if p.cached is None else p.cached)
