"""Captured payloads: Alertmanager's from the real 0.25 binary; Grafana's and PagerDuty's in their documented shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).with_name("payloads")


def load(name: str) -> Any:
    return json.loads((FOLDER / f"{name}.json").read_text())
