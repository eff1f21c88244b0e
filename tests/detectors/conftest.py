from __future__ import annotations

import pytest

from bot import capabilities
from tests.detectors.scripted import Script, capability


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Script:
    """The scripted detector, installed by adding its capability to the list."""
    s = Script()
    monkeypatch.setattr(capabilities, "INSTALLED", [*capabilities.INSTALLED, capability(s)])
    return s
