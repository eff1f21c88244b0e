"""The service on loopback with the OTLP routes, and an OpenAI-compatible stand-in for the SDKs to call."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.app import create_app
from bot.demo.server import BackgroundServer
from bot.services import Services

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM must not fetch its price list

ANSWER = "A second charge usually means a prorated upgrade."


@pytest.fixture
def api(services: Services) -> Iterator[str]:
    with BackgroundServer(create_app(services.settings, services=services, start_background=False)) as server:
        yield server.url


class StandIn:
    """What an OpenAI-compatible provider answers, and what it was asked."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.count = 0

    async def chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.calls.append(body)
        self.count += 1
        return JSONResponse(
            {
                "id": f"chatcmpl-standin{self.count:04d}",
                "object": "chat.completion",
                "created": 1764150000,
                "model": "gpt-4o-mini-2024-07-18",
                "system_fingerprint": "fp_standin",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": ANSWER},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 812,
                    "completion_tokens": 164,
                    "total_tokens": 976,
                    "prompt_tokens_details": {"cached_tokens": 256},
                },
            }
        )


@pytest.fixture
def standin() -> Iterator[tuple[str, StandIn]]:
    state = StandIn()
    app = Starlette(routes=[Route("/v1/chat/completions", state.chat, methods=["POST"])])
    with BackgroundServer(app) as server:
        yield f"{server.url}/v1", state
