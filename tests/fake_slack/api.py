from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fake_slack import conversations, directory, files, messages, views
from tests.fake_slack.records import Call, RateLimited, SlackError
from tests.fake_slack.state import State
from tests.fake_slack.wire import Reply, bearer_token

Method = Callable[[State, dict[str, Any]], dict[str, Any]]

METHODS: dict[str, Method] = {
    **directory.METHODS,
    **conversations.METHODS,
    **messages.METHODS,
    **views.METHODS,
    "files.info": files.files_info,
    "files.getUploadURLExternal": files.get_upload_url,
    "files.completeUploadExternal": files.complete_upload,
}

_SERVER_ERRORS = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}


def _auth_error(state: State, args: dict[str, Any], headers: dict[str, str], is_json: bool) -> str | None:
    """Slack reads the token from the Bearer header, or from a form field; JSON bodies need the header."""
    token = bearer_token(headers)
    if token is None and not is_json:
        form_token = args.get("token")
        token = form_token if isinstance(form_token, str) and form_token else None
    if token is None:
        return "not_authed"
    if token != state.identity.token:
        return "invalid_auth"
    return None


def _answer(state: State, method: str, args: dict[str, Any], headers: dict[str, str], is_json: bool) -> Reply:
    if method not in METHODS:
        return Reply.json(200, {"ok": False, "error": "unknown_method"})
    auth_error = _auth_error(state, args, headers, is_json)
    if auth_error:
        return Reply.json(200, {"ok": False, "error": auth_error})
    scripted = state.next_failure(method)
    if scripted is not None:
        if scripted.error is not None:
            return Reply.json(200, {"ok": False, "error": scripted.error})
        extra = {"Retry-After": str(scripted.retry_after)} if scripted.status in (429, 503) else {}
        error = "ratelimited" if scripted.status == 429 else _SERVER_ERRORS.get(scripted.status, "fatal_error")
        return Reply.json(scripted.status, {"ok": False, "error": error}, extra)
    try:
        return Reply.json(200, METHODS[method](state, args))
    except SlackError as exc:
        payload: dict[str, Any] = {"ok": False, "error": exc.code}
        if exc.messages:
            payload["response_metadata"] = {"messages": exc.messages}
        return Reply.json(200, payload)
    except RateLimited as exc:
        headers_out = {"Retry-After": str(exc.retry_after)}
        return Reply.json(429, {"ok": False, "error": "ratelimited"}, headers_out)


def handle_api(state: State, method: str, args: dict[str, Any], headers: dict[str, str], *, is_json: bool) -> Reply:
    """Answer one Web API call like Slack would, and record it (failures included)."""
    reply = _answer(state, method, args, headers, is_json)
    payload = reply.decoded()
    state.record(
        Call(
            method=method,
            body=args,
            headers=headers,
            at=state.clock(),
            status=reply.status,
            response=payload,
            failed=reply.status != 200 or not payload.get("ok", False),
        )
    )
    return reply
