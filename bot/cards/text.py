import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, pass_environment
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from bot.cards.limits import MESSAGE_TEXT, truncate_text

TEMPLATES = Path(__file__).parent / "templates"
RENDER_LIMIT = MESSAGE_TEXT
DEFAULT_DATE_FORMAT = "{date_short_pretty} {time}"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


class Mrkdwn(str):
    """Text already in Slack mrkdwn, so template output passes it through instead of escaping it again."""

    __slots__ = ()


def slack_escape(value: object) -> Mrkdwn:
    """Escape &, < and > so a user's or a model's text cannot become a link, a mention or an @channel."""
    if isinstance(value, Mrkdwn):
        return value
    text = "" if value is None else str(value)
    return Mrkdwn(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def render(template_name: str, /, **context: Any) -> Mrkdwn:
    """Render a card text from bot/cards/templates; every `{{ value }}` is escaped unless it is Mrkdwn."""
    return _capped(_environment().get_template(template_name).generate(**context))


def render_string(source: str, /, **context: Any) -> Mrkdwn:
    """Render a template held in a string (a runbook step) with the same filters and escaping."""
    return _capped(_compile(source).generate(**context))


def usd(value: float | Decimal | int) -> str:
    """Money as people read it: `$1,234.56`, and two significant digits below a cent (`$0.0042`)."""
    amount = Decimal(str(value))
    if not amount.is_finite():
        return str(value)
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    if amount == 0:
        return "$0.00"
    if amount >= Decimal("0.01"):
        return f"{sign}${amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"
    places = min(1 - amount.adjusted(), 10)
    rounded = amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    if rounded == 0:
        return f"{sign}<$0.{'0' * 9}1"
    return f"{sign}${format(rounded, 'f').rstrip('0')}"


def pct(value: float, digits: int = 1) -> str:
    """A ratio as a percentage (0.123 -> `12.3%`); tiny non-zero ratios show as `<0.1%`, not `0.0%`."""
    percent = float(value) * 100
    if not math.isfinite(percent):
        return str(value)
    smallest = 10.0**-digits
    if 0 < abs(percent) < smallest / 2:
        return f"{'<' if percent > 0 else '>-'}{smallest:.{digits}f}%"
    return f"{percent:.{digits}f}%"


def duration(value: timedelta | float) -> str:
    """A span as its two largest adjacent units (`2h 5m`, `45s`), for timelines and alert ages."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    total = round(abs(seconds))
    if total == 0:
        return "0s" if seconds == 0 else "<1s"
    counts: list[tuple[int, str]] = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        counts.append((count, unit))
    first = next(i for i, (count, _) in enumerate(counts) if count)
    shown = [f"{count}{unit}" for count, unit in counts[first : first + 2] if count]
    return ("-" if seconds < 0 else "") + " ".join(shown)


def ago(value: timedelta | float | datetime, now: datetime | None = None) -> str:
    """How long ago something happened (`5m ago`); a datetime needs `now`, so output is deterministic."""
    if isinstance(value, datetime):
        if now is None:
            raise TypeError("ago() of a datetime needs now")
        value = _aware(now) - _aware(value)
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if abs(seconds) < 1:
        return "just now"
    return f"in {duration(-seconds)}" if seconds < 0 else f"{duration(seconds)} ago"


def ts(value: datetime | float, fmt: str = DEFAULT_DATE_FORMAT) -> Mrkdwn:
    """A date each reader sees in their own time zone, with a UTC fallback for old clients."""
    moment = _aware(value) if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Mrkdwn(f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>")


def truncate_chars(value: object, length: int, end: str = "…") -> str:
    """Shorten a value for a one-line summary, at a word boundary and never inside a link."""
    text = truncate_text(str(value), length, ellipsis=end)
    return Mrkdwn(text) if isinstance(value, Mrkdwn) else text


def link(url: str, label: object | None = None) -> Mrkdwn:
    """A Slack link `<url|label>` with both parts escaped."""
    target = slack_escape(str(url).replace("|", "%7C"))
    return Mrkdwn(f"<{target}|{slack_escape(label)}>" if label not in (None, "") else f"<{target}>")


def mention(user_id: object) -> Mrkdwn:
    """A user mention from a Slack user id; anything else is shown as escaped text."""
    text = str(user_id)
    return Mrkdwn(f"<@{text}>") if _USER_ID.fullmatch(text) else slack_escape(text)


def channel(channel_id: object) -> Mrkdwn:
    """A channel link from a Slack channel id; anything else is shown as escaped text."""
    text = str(channel_id)
    return Mrkdwn(f"<#{text}>") if _CHANNEL_ID.fullmatch(text) else slack_escape(text)


def code(value: object) -> Mrkdwn:
    """Inline code (a model name, a request id), escaped and without stray backticks."""
    inner = slack_escape(str(value).replace("`", "'"))
    return Mrkdwn(f"`{inner}`")


def trusted(value: object) -> Mrkdwn:
    """Mark text that is already mrkdwn (a rendered fragment) so it is not escaped twice."""
    return Mrkdwn(str(value))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _concat(parts: Iterable[str]) -> Mrkdwn:
    return Mrkdwn("".join(parts))


@pass_environment
def join(env: SandboxedEnvironment, value: Iterable[Any], d: str = "", attribute: str | None = None) -> Mrkdwn:
    """Jinja's join, escaping each plain item so joined links and mentions stay intact."""
    items = [env.getattr(item, attribute) for item in value] if attribute is not None else value
    return Mrkdwn(slack_escape(d).join(slack_escape(item) for item in items))


class _Sandbox(SandboxedEnvironment):
    """The sandbox, also refusing `*` and `**` that would build huge strings or numbers.

    Macros, `{% set %}` blocks and `super()` return Mrkdwn (their parts were escaped already),
    so calling a macro does not escape its output a second time.
    """

    intercepted_binops = frozenset({"*", "**"})
    concat = staticmethod(_concat)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("exponent too large in a template")
        if operator == "*":
            sequence, count = (left, right) if isinstance(left, str | list | tuple) else (right, left)
            sized = isinstance(sequence, str | list | tuple) and isinstance(count, int)
            if sized and len(sequence) * count > RENDER_LIMIT:
                raise SecurityError("repetition too long in a template")
        return super().call_binop(context, operator, left, right)


@cache
def _environment() -> SandboxedEnvironment:
    env = _Sandbox(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,
        finalize=slack_escape,  # every {{ value }} is escaped unless it is Mrkdwn
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        slack_escape=slack_escape,
        usd=usd,
        pct=pct,
        duration=duration,
        ago=ago,
        ts=ts,
        truncate_chars=truncate_chars,
        link=link,
        mention=mention,
        channel=channel,
        code=code,
        mrkdwn=trusted,
        join=join,
    )
    return env


@lru_cache(maxsize=256)
def _compile(source: str) -> Template:
    return _environment().from_string(source)


def _capped(chunks: Iterator[str]) -> Mrkdwn:
    parts: list[str] = []
    size = 0
    try:
        for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size > RENDER_LIMIT:
                break
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Mrkdwn(truncate_text("".join(parts).strip("\n"), RENDER_LIMIT))
