from __future__ import annotations

import json
from email.message import Message as MimeMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

JSON_STRING_FIELDS = ("blocks", "attachments", "view", "files", "metadata")


class BadJson(ValueError):
    """The request said it was JSON but was not a JSON object; Slack answers invalid_json."""


def _multipart(content_type: str, raw: bytes) -> MimeMessage:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    return BytesParser(policy=HTTP).parsebytes(head + raw)


def multipart_fields(content_type: str, raw: bytes) -> dict[str, Any]:
    """Decode multipart/form-data: text parts as str, file parts as bytes."""
    fields: dict[str, Any] = {}
    for part in _multipart(content_type, raw).iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields[name] = data if part.get_filename() is not None else data.decode("utf-8", "replace")
    return fields


def multipart_file(content_type: str, raw: bytes) -> bytes | None:
    """The bytes of the first file part of a multipart body, if there is one."""
    for part in _multipart(content_type, raw).iter_parts():
        if part.get_filename() is not None:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    return None


def decode_json_strings(body: dict[str, Any]) -> dict[str, Any]:
    """Decode fields Slack takes as JSON-in-a-string (blocks, view...); leave malformed ones as str."""
    out = dict(body)
    for key in JSON_STRING_FIELDS:
        value = out.get(key)
        if isinstance(value, str) and value.strip():
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                continue
    return out


def decode_body(content_type: str, raw: bytes, query: str) -> tuple[dict[str, Any], bool]:
    """Turn a Web API request into its arguments; also say whether the body was JSON."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    is_json = kind == "application/json"
    if is_json:
        try:
            parsed = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadJson(str(exc)) from exc
        if not isinstance(parsed, dict):
            raise BadJson("body is not a JSON object")
        args.update(parsed)
    elif kind == "multipart/form-data":
        args.update(multipart_fields(content_type, raw))
    elif raw:
        args.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return decode_json_strings(args), is_json
