from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.cost.baseline import clear_cache


@pytest.fixture(autouse=True)
def _fresh_profiles() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()
