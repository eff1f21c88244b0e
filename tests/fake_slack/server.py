from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from tests.fake_slack import responses
from tests.fake_slack.directory import user_object
from tests.fake_slack.files import file_object
from tests.fake_slack.handler import SlackHTTPServer
from tests.fake_slack.records import Call, Message, Response, ScriptedFailure, StoredFile, Upload
from tests.fake_slack.state import Identity, State


class FakeSlack:
    """A local stand-in for Slack's Web API that records every call and enforces Slack's rules."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        rate_limit: bool = True,
        burst: int = 3,
        refill_per_second: float = 1.0,
        clock: Callable[[], float] = time.time,
        team_id: str = "T0FAKE0001",
        team: str = "Afterlaunch Test",
        bot_user_id: str = "U0FAKEBOT1",
        bot_id: str = "B0FAKEBOT1",
    ) -> None:
        identity = Identity(token=token, team_id=team_id, team=team, bot_user_id=bot_user_id, bot_id=bot_id)
        self._state = State(
            identity=identity,
            clock=clock,
            burst=burst,
            refill_per_second=refill_per_second,
            rate_limit=rate_limit,
        )
        self.token = token
        self.base_url = ""
        self.api_url = ""
        self._server: SlackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeSlack:
        """Listen on a free loopback port and serve from a background thread."""
        if self._server is not None:
            raise RuntimeError("FakeSlack is already started")
        server = SlackHTTPServer(self._state)
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self.api_url = f"{self.base_url}/api/"
        self._state.base_url = self.base_url
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # What the bot did -------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Every Web API call so far (failed ones too), optionally of one method, oldest first."""
        with self._state.lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forget recorded calls and response_url posts; seeded data and messages stay."""
        with self._state.lock:
            self._state.calls.clear()
            self._state.responses.clear()

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until `count` calls of `method` arrived, for code that calls Slack from a thread."""
        state = self._state
        with state.changed:
            arrived = state.changed.wait_for(lambda: len(self.calls(method)) >= count, timeout=timeout)
            seen = self.calls(method)
            if not arrived:
                summary = ", ".join(f"{c.method}({c.status}{' failed' if c.failed else ''})" for c in state.calls)
                raise AssertionError(
                    f"expected {count} {method} call(s) within {timeout}s, got {len(seen)}; all calls: [{summary}]"
                )
            return seen

    def messages(self, channel: str) -> list[Message]:
        """The channel's live messages with their latest content and update counts, oldest first."""
        with self._state.lock:
            channel_id = self._state.resolve_channel(channel)
            return copy.deepcopy(self._state.messages.get(channel_id, []))

    def ephemerals(self, channel: str | None = None) -> list[Message]:
        """Ephemeral messages sent (they never join channel history), optionally for one channel."""
        with self._state.lock:
            found = [m for m in self._state.ephemerals if channel is None or m.channel == channel]
            return copy.deepcopy(found)

    def channel(self, name_or_id: str) -> Any:
        """A channel the bot created (members, topic, pins, archived), or None."""
        from tests.fake_slack.conversations import _channels

        with self._state.lock:
            channels = _channels(self._state)
            found = channels.get(name_or_id) or next((c for c in channels.values() if c.name == name_or_id), None)
            return copy.deepcopy(found)

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab view last published for a user, or None."""
        with self._state.lock:
            return copy.deepcopy(self._state.homes.get(user_id))

    def view(self, view_id: str) -> dict[str, Any] | None:
        """A view (modal or Home tab) as last opened, pushed or updated."""
        with self._state.lock:
            return copy.deepcopy(self._state.views.get(view_id))

    def uploads(self) -> list[Upload]:
        """Files sent through the external upload flow, with their bytes and completion state."""
        with self._state.lock:
            return copy.deepcopy(list(self._state.uploads.values()))

    def responses(self, url: str | None = None) -> list[Response]:
        """Bodies posted to response_urls (refused ones have status 400), optionally for one url."""
        with self._state.lock:
            return [r for r in self._state.responses if url is None or r.url == url]

    # What the workspace holds -----------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        is_admin: bool = False,
        tz: str = "UTC",
        *,
        real_name: str | None = None,
        email: str | None = None,
    ) -> dict[str, Any]:
        """Seed a user that users.info will answer."""
        with self._state.lock:
            user = user_object(self._state, user_id, name, is_admin=is_admin, tz=tz, real_name=real_name, email=email)
            self._state.users[user_id] = user
            return copy.deepcopy(user)

    def add_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        """Seed a user group that usergroups.users.list will answer."""
        with self._state.lock:
            self._state.usergroups[group_id] = list(user_ids)

    def add_channel(self, channel_id: str, name: str) -> None:
        """Name a channel, so that posting to `#name` reaches it (unknown names are channel_not_found)."""
        with self._state.lock:
            self._state.channel_names[name.removeprefix("#")] = channel_id

    def add_file(
        self,
        file_id: str,
        content: bytes,
        name: str,
        mimetype: str,
        filetype: str,
        *,
        title: str | None = None,
        redirect_to: str | None = None,
    ) -> dict[str, Any]:
        """Seed a file for files.info; its private URL serves `content`, or redirects to `redirect_to`."""
        with self._state.lock:
            stored = StoredFile(
                id=file_id,
                name=name,
                content=content,
                mimetype=mimetype,
                filetype=filetype,
                title=title or name,
                created=self._state.clock(),
                redirect_to=redirect_to,
            )
            self._state.files[file_id] = stored
            return file_object(self._state, stored)

    def new_response_url(self) -> str:
        """A response_url that records what is posted to it, as for a slash command or interaction."""
        self._require_started()
        with self._state.lock:
            return responses.new_response_url(self._state)

    def new_trigger_id(self) -> str:
        """A trigger_id that expires three seconds (by the fake's clock) after being handed out."""
        with self._state.lock:
            trigger_id = f"{int(self._state.clock())}.{self._state.new_id('T')}.fake"
            self._state.issued_triggers[trigger_id] = self._state.clock()
            return trigger_id

    def fail_next(
        self, method: str, *, status: int = 429, retry_after: int = 1, error: str | None = None, times: int = 1
    ) -> None:
        """Make the next `times` calls of `method` fail: HTTP `status`, or HTTP 200 ok=false `error`."""
        with self._state.lock:
            queue = self._state.failures.setdefault(method, deque())
            for _ in range(times):
                queue.append(ScriptedFailure(status=status, retry_after=retry_after, error=error))

    def clear_failures(self) -> None:
        """Drop scripted failures not yet used."""
        with self._state.lock:
            self._state.failures.clear()

    def _require_started(self) -> None:
        if self._server is None:
            raise RuntimeError("start FakeSlack before asking for URLs on it")


def fake_slack() -> Iterator[FakeSlack]:
    """Pytest fixture body: a started FakeSlack for one test, stopped (port closed) afterwards."""
    with FakeSlack() as slack:
        yield slack
