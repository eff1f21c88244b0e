"""Socket Mode: the same Bolt app and listeners, over Slack's websocket instead of HTTP."""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.services import Services
from bot.slack.bolt import create_bolt_app

log = logging.getLogger(__name__)


def socket_mode_handler(services: Services) -> SocketModeHandler:
    """The handler for the app built exactly as for HTTP; tests check the listeners are the same."""
    token = services.settings.slack_app_token
    if token is None:
        raise RuntimeError("Socket Mode needs SLACK_APP_TOKEN (xapp-…)")
    return SocketModeHandler(create_bolt_app(services), token.get_secret_value())


def start_socket_mode(services: Services) -> SocketModeHandler:
    """Connect in the background; the HTTP service (events, webhooks, OFREP) keeps running."""
    handler = socket_mode_handler(services)
    handler.connect()
    log.info("connected to Slack over Socket Mode")
    return handler
