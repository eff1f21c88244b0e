from __future__ import annotations

import mimetypes
import secrets
from typing import Any
from urllib.parse import quote, unquote

from tests.fake_slack.decoding import multipart_file
from tests.fake_slack.records import Message, SlackError, StoredFile, Upload
from tests.fake_slack.state import State
from tests.fake_slack.wire import Reply, bearer_token


def file_object(state: State, stored: StoredFile) -> dict[str, Any]:
    """Describe a stored file as files.info does, with private URLs on the fake itself."""
    name = quote(stored.name)
    base = f"{state.base_url}/files/{stored.id}"
    return {
        "id": stored.id,
        "created": int(stored.created),
        "timestamp": int(stored.created),
        "name": stored.name,
        "title": stored.title,
        "mimetype": stored.mimetype,
        "filetype": stored.filetype,
        "size": len(stored.content),
        "user": state.identity.bot_user_id,
        "is_external": False,
        "url_private": f"{base}/{name}",
        "url_private_download": f"{base}/download/{name}",
        "permalink": f"{state.base_url}/archives/files/{stored.id}",
    }


def files_info(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """files.info: describe a seeded or uploaded file."""
    stored = state.files.get(args.get("file") or "")
    if stored is None:
        raise SlackError("file_not_found")
    return {"ok": True, "file": file_object(state, stored)}


def get_upload_url(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """files.getUploadURLExternal: reserve a file id and hand out a one-off upload URL on the fake."""
    filename = args.get("filename")
    length = args.get("length")
    try:
        size = int(length) if length is not None else -1
    except (TypeError, ValueError):
        size = -1
    if not isinstance(filename, str) or not filename or size < 0:
        raise SlackError("invalid_arguments", ["[ERROR] filename and length are required"])
    key = secrets.token_urlsafe(12)
    upload = Upload(file_id=state.new_id("F"), filename=filename, length=size, key=key)
    state.uploads[key] = upload
    return {"ok": True, "upload_url": f"{state.base_url}/upload/v1/{key}", "file_id": upload.file_id}


def complete_upload(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """files.completeUploadExternal: turn uploaded bytes into files, shared to a channel if asked."""
    wanted = args.get("files")
    if not isinstance(wanted, list) or not wanted:
        raise SlackError("invalid_arguments", ["[ERROR] files must be a non-empty array"])
    by_id = {u.file_id: u for u in state.uploads.values()}
    chosen: list[tuple[Upload, dict[str, Any]]] = []
    for item in wanted:
        upload = by_id.get(item.get("id")) if isinstance(item, dict) else None
        if upload is None or upload.content is None or upload.completed:
            raise SlackError("file_not_found")
        chosen.append((upload, item))
    channel = args.get("channel_id") or (str(args.get("channels") or "").split(",")[0] or None)
    channel_id = state.resolve_channel(channel) if channel else None
    answered = []
    for upload, item in chosen:
        upload.completed = True
        upload.title = item.get("title") or upload.filename
        upload.channel_id = channel_id
        upload.initial_comment = args.get("initial_comment")
        upload.thread_ts = args.get("thread_ts")
        filetype = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "binary"
        stored = StoredFile(
            id=upload.file_id,
            name=upload.filename,
            content=upload.content or b"",
            mimetype=mimetypes.guess_type(upload.filename)[0] or "application/octet-stream",
            filetype=filetype,
            title=upload.title,
            created=state.clock(),
        )
        state.files[stored.id] = stored
        answered.append(file_object(state, stored))
    if channel_id:
        message = Message(
            channel=channel_id,
            ts=state.new_ts(),
            text=args.get("initial_comment") or "",
            user=state.identity.bot_user_id,
            thread_ts=args.get("thread_ts") or None,
            files=answered,
        )
        state.messages.setdefault(channel_id, []).append(message)
    return {"ok": True, "files": answered}


def receive_upload(state: State, key: str, content_type: str, raw: bytes) -> Reply:
    """The upload URL: take the file bytes (raw or multipart) once, as Slack's upload host does."""
    upload = state.uploads.get(key)
    if upload is None or upload.content is not None:
        return Reply.text(404, "not_found")
    if content_type.startswith("multipart/form-data"):
        found = multipart_file(content_type, raw)
        if found is None:
            return Reply.text(400, "no file in multipart body")
        raw = found
    upload.content = raw
    return Reply.text(200, f"OK - {len(raw)}")


def serve_file(state: State, path: str, headers: dict[str, str]) -> Reply:
    """A file's private URL: the bytes with the bot token, else a redirect to Slack's sign-in page."""
    parts = [unquote(part) for part in path.split("/")]
    stored = state.files.get(parts[2]) if len(parts) >= 4 else None
    if stored is None or parts[3:] not in ([stored.name], ["download", stored.name]):
        return Reply.text(404, "file not found")
    if bearer_token(headers) != state.identity.token:
        return Reply.redirect(f"{state.base_url}/signin?redir={quote(path)}")
    if stored.redirect_to:
        return Reply.redirect(stored.redirect_to)
    return Reply(200, stored.content, {"Content-Type": stored.mimetype})
