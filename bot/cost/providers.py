"""Importers of the providers' own cost figures: OpenAI organization costs, Anthropic cost report, CSV exports.

Each returns rows ``{provider, day, model, usd, source}`` per UTC day and model. Admin keys
are secrets: they go in a header and nowhere else (never in a log line or an error).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from bot.errors import UserError
from bot.outbound import send_with_retries

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
MAX_PAGES = 100
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


class ProviderError(Exception):
    """A provider API refused or failed; the message names the provider and status, never the key."""


def model_family(model: str) -> str:
    """A model without its dated snapshot suffix, so `gpt-4o-mini-2024-07-18` and `gpt-4o-mini` compare equal."""
    return _SNAPSHOT.sub("", model.strip().lower())


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def _get(client: httpx.Client, url: str, params: Any, headers: dict[str, str], provider: str) -> dict[str, Any]:
    """One page of a cost API, retried on 429/5xx (honouring Retry-After) and on connection failures."""
    try:
        response = send_with_retries(lambda: client.get(url, params=params, headers=headers))
    except httpx.HTTPError as exc:
        raise ProviderError(f"{provider}: {exc.__class__.__name__} calling the cost API") from None
    if response.status_code != 200:
        raise ProviderError(f"{provider}: the cost API answered {response.status_code}")
    return response.json()


def fetch_openai(
    *, base_url: str, admin_key: SecretStr, start: datetime, end: datetime, transport: httpx.BaseTransport | None = None
) -> list[dict[str, Any]]:
    """GET /v1/organization/costs by day and line item; the model is the line item before its comma."""
    headers = {"Authorization": f"Bearer {admin_key.get_secret_value()}"}
    params: dict[str, Any] = {
        "start_time": int(start.timestamp()),
        "end_time": int(end.timestamp()),
        "bucket_width": "1d",
        "group_by": ["line_item"],
        "limit": 31,
    }
    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=base_url, timeout=TIMEOUT, transport=transport) as client:
        for _ in range(MAX_PAGES):
            page = _get(client, "/v1/organization/costs", params, headers, "openai")
            for bucket in page.get("data", []):
                day = _day(bucket["start_time"])
                for result in bucket.get("results", []):
                    amount = result.get("amount") or {}
                    if str(amount.get("currency", "usd")).lower() != "usd":
                        continue
                    item = result.get("line_item") or "unattributed"
                    model = item.split(",")[0].strip()
                    rows.append({"provider": "openai", "day": day, "model": model, "usd": float(amount["value"])})
            if not page.get("has_more") or not page.get("next_page"):
                break
            params["page"] = page["next_page"]
    return [{**r, "source": "api"} for r in rows]


def fetch_anthropic(
    *, base_url: str, admin_key: SecretStr, start: datetime, end: datetime, transport: httpx.BaseTransport | None = None
) -> list[dict[str, Any]]:
    """GET /v1/organizations/cost_report grouped by description; amounts are decimal strings in cents."""
    headers = {"x-api-key": admin_key.get_secret_value(), "anthropic-version": "2023-06-01"}
    params: dict[str, Any] = {
        "starting_at": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ending_at": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bucket_width": "1d",
        "group_by[]": ["description"],
        "limit": 31,
    }
    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=base_url, timeout=TIMEOUT, transport=transport) as client:
        for _ in range(MAX_PAGES):
            page = _get(client, "/v1/organizations/cost_report", params, headers, "anthropic")
            for bucket in page.get("data", []):
                day = bucket["starting_at"][:10]
                for result in bucket.get("results", []):
                    if str(result.get("currency", "USD")).upper() != "USD":
                        continue
                    model = result.get("model") or result.get("description") or "unattributed"
                    usd = float(result["amount"]) / 100
                    rows.append({"provider": "anthropic", "day": day, "model": model, "usd": usd})
            if not page.get("has_more") or not page.get("next_page"):
                break
            params["page"] = page["next_page"]
    return [{**r, "source": "api"} for r in rows]


def parse_csv(text: str, *, provider: str) -> list[dict[str, Any]]:
    """A finance CSV export with columns date, model and cost_usd (a header row is required)."""
    reader = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
    missing = {"date", "model", "cost_usd"} - fields
    if missing:
        raise UserError(f"the CSV lacks the column(s) {', '.join(sorted(missing))}; expected date,model,cost_usd")
    rows = []
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            day = datetime.strptime(row["date"][:10], "%Y-%m-%d").strftime("%Y-%m-%d")
        except ValueError:
            raise UserError(f"CSV line {n}: date '{row['date'][:30]}' is not YYYY-MM-DD") from None
        try:
            usd = float(row["cost_usd"].lstrip("$").replace(",", ""))
        except ValueError:
            raise UserError(f"CSV line {n}: cost_usd '{row['cost_usd'][:30]}' is not a number") from None
        if not row["model"]:
            raise UserError(f"CSV line {n}: the model is empty")
        rows.append({"provider": provider, "day": day, "model": row["model"], "usd": usd, "source": "csv"})
    return rows


def default_range(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The last ``days`` whole UTC days plus today so far."""
    end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return end - timedelta(days=days + 1), end
