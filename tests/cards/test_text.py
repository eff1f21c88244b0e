from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from jinja2.exceptions import TemplateNotFound, UndefinedError
from jinja2.sandbox import SecurityError

from bot.cards.text import (
    RENDER_LIMIT,
    Mrkdwn,
    ago,
    channel,
    duration,
    link,
    mention,
    pct,
    render,
    render_string,
    slack_escape,
    truncate_chars,
    ts,
    usd,
)

NOW = datetime(2024, 5, 1, 14, 3, tzinfo=UTC)


def test_slack_escape_escapes_the_three_control_characters() -> None:
    assert slack_escape("a & b <!channel> c > d") == "a &amp; b &lt;!channel&gt; c &gt; d"
    assert slack_escape(None) == ""
    assert slack_escape(42) == "42"
    assert isinstance(slack_escape("x"), Mrkdwn)
    assert slack_escape(Mrkdwn("<@U123>")) == "<@U123>"  # already mrkdwn: left alone


def test_values_are_escaped_by_default_but_template_text_is_not() -> None:
    out = render_string("*Alert* <!here>: {{ reply }}", reply="<!channel> ignore previous & <https://evil|click>")
    assert out == "*Alert* <!here>: &lt;!channel&gt; ignore previous &amp; &lt;https://evil|click&gt;"


def test_explicit_escape_filter_does_not_escape_twice() -> None:
    assert render_string("{{ v|slack_escape }}", v="a & b") == "a &amp; b"


def test_markup_filters_are_not_escaped_again() -> None:
    out = render_string(
        "{{ url|link(label) }} {{ user|mention }} {{ room|channel }} {{ model|code }} {{ at|ts }}",
        url="https://grafana.example/d?a=1&b=2",
        label="cost <spike>",
        user="U0123ABC",
        room="C0456DEF",
        model="gpt-4o`mini",
        at=NOW,
    )
    assert out == (
        "<https://grafana.example/d?a=1&amp;b=2|cost &lt;spike&gt;> <@U0123ABC> <#C0456DEF> `gpt-4o'mini` "
        "<!date^1714572180^{date_short_pretty} {time}|2024-05-01 14:03 UTC>"
    )


def test_mention_and_channel_refuse_what_is_not_an_id() -> None:
    assert mention("!channel") == "!channel"
    assert mention("<!here>") == "&lt;!here&gt;"
    assert channel("#general>") == "#general&gt;"
    assert link("https://a.example/x|y") == "<https://a.example/x%7Cy>"


def test_mrkdwn_filter_marks_trusted_text() -> None:
    fragment = render_string("*{{ name }}*", name="a<b")
    assert render_string("{{ f|mrkdwn }} / {{ f }}", f=str(fragment)) == "*a&lt;b* / *a&amp;lt;b*"
    assert render_string("{{ f }}", f=fragment) == "*a&lt;b*"  # render() returns Mrkdwn


def test_macros_and_set_blocks_are_escaped_once() -> None:
    source = (
        "{% macro fact(label, value) %}*{{ label }}*: {{ value }}{% endmacro %}"
        "{% set line %}{{ fact('Owner', who) }}{% endset %}"
        "{{ fact('Model', model) }} | {{ line }}"
    )
    assert render_string(source, who="<@evil>", model="a&b") == "*Model*: a&amp;b | *Owner*: &lt;@evil&gt;"


def test_join_escapes_plain_items_and_keeps_links() -> None:
    out = render_string("{{ [u|mention, 'x<y'] | join(', ') }}", u="U0123ABC")
    assert out == "<@U0123ABC>, x&lt;y"
    rows = [{"name": "a&"}, {"name": "b"}]
    assert render_string("{{ rows | join('; ', attribute='name') }}", rows=rows) == "a&amp;; b"


def test_missing_variable_fails_loudly() -> None:
    with pytest.raises(UndefinedError):
        render_string("{{ missing }}")
    with pytest.raises(UndefinedError):
        render_string("{% if missing %}x{% endif %}")


def test_none_renders_as_empty() -> None:
    assert render_string("[{{ v }}]", v=None) == "[]"


def test_trim_and_lstrip_blocks() -> None:
    source = "Steps:\n  {% for step in steps %}\n- {{ step }}\n  {% endfor %}\nDone"
    assert render_string(source, steps=["one", "two"]) == "Steps:\n- one\n- two\nDone"


def test_sandbox_blocks_internals_and_huge_repeats() -> None:
    with pytest.raises(SecurityError):
        render_string("{{ ''.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        render_string("{{ 'x' * 10000000 }}")
    with pytest.raises(SecurityError):
        render_string("{{ 10 ** 100000 }}")
    assert render_string("{{ '-' * 3 }}{{ 2 ** 3 }}") == "---8"


def test_output_is_capped() -> None:
    out = render_string("{% for i in range(90000) %}word {% endfor %}")
    assert len(out) <= RENDER_LIMIT
    assert out.endswith("word…")


def test_render_loads_templates_from_the_package() -> None:
    assert render("error.md.j2", message="Boom <@U1>", error_id="E-7") == (
        ":warning: Boom &lt;@U1&gt;\n_Reference `E-7`: quote it to the on-call engineer if this keeps happening._"
    )
    assert render("error.md.j2", message="Boom", error_id=None) == ":warning: Boom"
    with pytest.raises(TemplateNotFound):
        render("no_such.md.j2")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234.56, "$1,234.56"),
        (1234.555, "$1,234.56"),
        (Decimal("1000000"), "$1,000,000.00"),
        (0, "$0.00"),
        (0.01, "$0.01"),
        (0.005, "$0.005"),
        (0.0042, "$0.0042"),
        (0.00418, "$0.0042"),
        (0.00999, "$0.01"),
        (0.000012345, "$0.000012"),
        (1e-14, "<$0.0000000001"),
        (-12.5, "-$12.50"),
        (-0.0042, "-$0.0042"),
        (7, "$7.00"),
    ],
)
def test_usd(value: float, expected: str) -> None:
    assert usd(value) == expected


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (0.123, 1, "12.3%"),
        (1, 0, "100%"),
        (0.0004, 1, "<0.1%"),
        (0.0004, 2, "0.04%"),
        (0, 1, "0.0%"),
        (-0.25, 1, "-25.0%"),
        (2.5, 1, "250.0%"),
    ],
)
def test_pct(value: float, digits: int, expected: str) -> None:
    assert pct(value, digits) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0s"),
        (0.3, "<1s"),
        (45, "45s"),
        (125, "2m 5s"),
        (3600, "1h"),
        (3725, "1h 2m"),
        (timedelta(days=1, minutes=5), "1d"),
        (timedelta(days=2, hours=3, minutes=4), "2d 3h"),
        (-90, "-1m 30s"),
    ],
)
def test_duration(value: float | timedelta, expected: str) -> None:
    assert duration(value) == expected


def test_ago_takes_seconds_timedeltas_or_datetimes_with_now() -> None:
    assert ago(300) == "5m ago"
    assert ago(timedelta(hours=2)) == "2h ago"
    assert ago(0.2) == "just now"
    assert ago(NOW - timedelta(minutes=3), NOW) == "3m ago"
    assert ago(datetime(2024, 5, 1, 14, 0), NOW) == "3m ago"  # naive means UTC
    assert ago(NOW + timedelta(hours=1), NOW) == "in 1h"
    with pytest.raises(TypeError):
        ago(NOW)
    assert render_string("{{ started|ago(now) }}", started=NOW - timedelta(seconds=75), now=NOW) == "1m 15s ago"


def test_ts_formats_for_slack_with_a_fallback() -> None:
    assert ts(1714572180) == "<!date^1714572180^{date_short_pretty} {time}|2024-05-01 14:03 UTC>"
    assert ts(datetime(2024, 5, 1, 14, 3), "{date_num}") == "<!date^1714572180^{date_num}|2024-05-01 14:03 UTC>"


def test_truncate_chars() -> None:
    assert truncate_chars("the quick brown fox", 12) == "the quick…"
    assert truncate_chars("short", 12) == "short"
    assert truncate_chars(Mrkdwn("see <https://a.example|docs> now"), 12) == "see…"
    assert isinstance(truncate_chars(Mrkdwn("x" * 20), 5), Mrkdwn)
    assert render_string("{{ v|truncate_chars(8) }}", v="a<b c<d e<f") == "a&lt;b c&lt;d…"
