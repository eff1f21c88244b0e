"""The manifest matches the code; every card of the Slack layer fits Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from bot.cards.limits import check_payload
from bot.scope import ALL_TENANTS
from bot.services import Services
from bot.slack import home
from bot.slack.bolt import create_bolt_app
from bot.slack.commands import all_commands
from bot.slack.commands.afterlaunch import help_card, status_card
from bot.slack.manifest import manifest_yaml
from bot.slack.registry import CommandRequest, SlashCommand, error_card
from bot.slack.socket import socket_mode_handler
from tests.slack_requests import SIGNING_SECRET, slash_body
from tests.slack_signing import signed_headers

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
HUGE = "x" * 20_000


def dispatch(services: Services, command: str) -> int:
    from slack_bolt import BoltRequest

    app = create_bolt_app(services)
    body = slash_body(command, "help", response_url="http://127.0.0.1:9/unused").decode()
    headers = {**signed_headers(SIGNING_SECRET, body.encode()), "content-type": "application/x-www-form-urlencoded"}
    return app.dispatch(BoltRequest(body=body, headers=headers)).status


def test_manifest_declares_exactly_the_registered_commands(slack_services: Services) -> None:
    manifest = yaml.safe_load(manifest_yaml(all_commands(), url="https://al.example.com"))
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    registered = {c.name for c in all_commands()}
    assert declared == registered
    for c in manifest["features"]["slash_commands"]:
        assert c["url"] == "https://al.example.com/slack/events"
    assert manifest["settings"]["interactivity"]["request_url"] == "https://al.example.com/slack/events"
    # The Bolt app answers every declared command and nothing else.
    for name in declared:
        assert dispatch(slack_services, name) == 200
    assert dispatch(slack_services, "/not-a-command") == 404


def test_socket_mode_manifest_has_no_urls_and_the_handler_uses_the_same_listeners(slack_services: Services) -> None:
    manifest = yaml.safe_load(manifest_yaml(all_commands(), url="https://x.example.com", socket_mode=True))
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert all("url" not in c for c in manifest["features"]["slash_commands"])
    from pydantic import SecretStr

    socket_services = Services(
        settings=slack_services.settings.model_copy(update={"slack_app_token": SecretStr("xapp-1-A1-1-abc")}),
        db=slack_services.db,
        ingest=slack_services.ingest,
    )
    handler = socket_mode_handler(socket_services)
    http_app = create_bolt_app(slack_services)
    assert [type(m).__name__ for lst in handler.app._listeners for m in lst.matchers] == [
        type(m).__name__ for lst in http_app._listeners for m in lst.matchers
    ]
    assert len(handler.app._listeners) == len(http_app._listeners)


def test_every_slack_layer_card_fits_even_with_huge_inputs(services: Services) -> None:
    huge_command = SlashCommand(name="/" + "c" * 30, description=HUGE, usage_hint=HUGE, handler=lambda s, r: None)  # type: ignore[arg-type,return-value]
    cards = [
        help_card([*all_commands(), huge_command]),
        status_card(services, CommandRequest("/afterlaunch", "status", "U1", "C1", NOW, scope=ALL_TENANTS)),
        error_card(HUGE),
    ]
    for card in cards:
        assert check_payload(card.to_message(), surface="message") == []
    from bot.ingest.service import Writer, ingest
    from tests.ingest.factory import event

    ingest(
        services.db,
        [event(tenant=f"t{i}-{HUGE[:100]}", timestamp=NOW.isoformat()) for i in range(30)],
        cfg=services.ingest,
        writer=Writer(None, None),
        now=NOW,
    )
    view = home.build_home(services, NOW)
    assert check_payload(view, surface="home") == []
