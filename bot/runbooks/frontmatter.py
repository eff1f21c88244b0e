from __future__ import annotations

import re
from typing import Any

import yaml

from bot.runbooks.model import SEVERITIES, KillSwitchHint, Matcher, ParsedFile

_REQUIRED = ("id", "title", "severity", "match", "summary")
_OPTIONAL = ("kill_switch", "priority")
_KILL_SWITCH_KEYS = ("flag", "scope")
_ID_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LABEL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FLAG_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")
_TITLE_LIMIT = 150
_SUMMARY_LIMIT = 300
_NULL_TAG = "tag:yaml.org,2002:null"


def _yaml_line(exc: yaml.MarkedYAMLError, first_line: int) -> int:
    mark = exc.problem_mark or exc.context_mark
    return first_line + (mark.line if mark is not None else 0)


def parse_front_matter(pf: ParsedFile, text: str, *, first_line: int) -> dict[str, Any] | None:
    """Validate the fields; return Runbook keyword arguments, or None when they cannot be built."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        pf.add(_yaml_line(exc, first_line), f"invalid YAML: {exc.problem or exc.context}")
        return None
    except yaml.YAMLError as exc:
        pf.add(first_line - 1, f"invalid YAML: {exc}")
        return None
    if root is None:
        pf.add(first_line - 1, "the front matter is empty")
        return None
    reader = _NodeReader(pf, first_line)
    nodes = reader.mapping(root, "front matter")
    if nodes is None:
        return None
    for name, (key, value) in nodes.items():
        pf.field_lines[name] = reader.line(value)
        if name not in _REQUIRED and name not in _OPTIONAL:
            known = ", ".join((*_REQUIRED, *_OPTIONAL))
            pf.add(reader.line(key), f"unknown field {name!r} (known: {known})")
    for name in _REQUIRED:
        if name not in nodes:
            pf.add(first_line - 1, f"missing field {name!r}")
    before = len(pf.problems)
    fields: dict[str, Any] = {
        "id": _check_id(reader, nodes),
        "title": reader.text(nodes, "title", limit=_TITLE_LIMIT),
        "severity": _check_severity(reader, nodes),
        "summary": reader.text(nodes, "summary", limit=_SUMMARY_LIMIT),
        "priority": _check_priority(reader, nodes),
        "match": _check_match(reader, nodes),
        "kill_switch": _check_kill_switch(reader, nodes),
    }
    return fields if len(pf.problems) == before else None


Nodes = dict[str, tuple[yaml.Node, yaml.Node]]


class _NodeReader:
    """Reads YAML nodes so each value keeps its line; problems go to the file being parsed."""

    def __init__(self, pf: ParsedFile, first_line: int) -> None:
        self.pf = pf
        self.first_line = first_line
        self._constructor = yaml.SafeLoader("")

    def line(self, node: yaml.Node) -> int:
        return self.first_line + node.start_mark.line

    def value(self, node: yaml.Node) -> tuple[bool, Any]:
        try:
            return True, self._constructor.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            self.pf.add(_yaml_line(exc, self.first_line), f"invalid YAML value: {exc.problem}")
            return False, None

    def mapping(self, node: yaml.Node, what: str) -> Nodes | None:
        if not isinstance(node, yaml.MappingNode):
            self.pf.add(self.line(node), f"{what} must be a mapping of names to values")
            return None
        out: Nodes = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            if name in out:
                self.pf.add(self.line(key), f"{what}: {name!r} is given twice")
            out[name] = (key, value)
        return out

    def text(self, nodes: Nodes, name: str, *, limit: int) -> str:
        if name not in nodes:
            return ""
        node = nodes[name][1]
        ok, value = self.value(node)
        if not ok:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.pf.add(self.line(node), f"{name} must be a non-empty string")
            return ""
        value = value.strip()
        if "\n" in value:
            self.pf.add(self.line(node), f"{name} must fit on one line")
        elif len(value) > limit:
            self.pf.add(self.line(node), f"{name} is {len(value)} characters; keep it under {limit}")
        return value


def _check_id(reader: _NodeReader, nodes: Nodes) -> str:
    value = reader.text(nodes, "id", limit=100)
    if not value:
        return value
    reader.pf.declared_id = value
    line = reader.line(nodes["id"][1])
    if not _ID_RE.fullmatch(value):
        reader.pf.add(line, f"id {value!r} must be a slug: lowercase letters, digits and single hyphens")
    elif value != reader.pf.path.stem:
        reader.pf.add(line, f"id {value!r} must equal the file name without .md ({reader.pf.path.stem!r})")
    return value


def _check_severity(reader: _NodeReader, nodes: Nodes) -> str:
    value = reader.text(nodes, "severity", limit=20)
    if value and value not in SEVERITIES:
        line = reader.line(nodes["severity"][1])
        reader.pf.add(line, f"severity {value!r} is not one of {', '.join(SEVERITIES)}")
    return value


def _check_priority(reader: _NodeReader, nodes: Nodes) -> int:
    if "priority" not in nodes:
        return 0
    node = nodes["priority"][1]
    ok, value = reader.value(node)
    if ok and (isinstance(value, bool) or not isinstance(value, int)):
        reader.pf.add(reader.line(node), "priority must be a whole number")
        return 0
    return value if ok else 0


def _check_match(reader: _NodeReader, nodes: Nodes) -> dict[str, Matcher]:
    if "match" not in nodes:
        return {}
    node = nodes["match"][1]
    if node.tag == _NULL_TAG:
        reader.pf.add(reader.line(node), "match is empty; write 'match: {}' to match every alert")
        return {}
    entries = reader.mapping(node, "match")
    if entries is None:
        return {}
    matchers: dict[str, Matcher] = {}
    for label, (key, value) in entries.items():
        if not _LABEL_RE.fullmatch(label):
            reader.pf.add(reader.line(key), f"match: {label!r} is not a label name (letters, digits, _)")
            continue
        matcher = _matcher(reader, label, value)
        if matcher is not None:
            matchers[label] = matcher
    return matchers


def _matcher(reader: _NodeReader, label: str, node: yaml.Node) -> Matcher | None:
    line = reader.line(node)
    if isinstance(node, yaml.SequenceNode):
        values: list[str] = []
        for item in node.value:
            ok, value = reader.value(item)
            if ok and isinstance(value, str) and value and not value.startswith("~"):
                values.append(value)
            elif ok:
                reader.pf.add(
                    reader.line(item), f"match.{label}: a list holds exact, non-empty strings (quote numbers)"
                )
        if not node.value:
            reader.pf.add(line, f"match.{label}: the list is empty")
        return Matcher.any_of(values) if values and len(values) == len(node.value) else None
    ok, value = reader.value(node)
    if not ok:
        return None
    if not isinstance(value, str) or not value:
        hint = " (a bare ~ is null in YAML: quote regexes, '~...')" if value is None else " (quote it)"
        reader.pf.add(line, f"match.{label}: expected a string, '~regex' or a list of strings{hint}")
        return None
    if not value.startswith("~"):
        return Matcher.exact(value)
    source = value[1:]
    if not source:
        reader.pf.add(line, f"match.{label}: the regex after '~' is empty")
        return None
    try:
        return Matcher.regex(source)
    except re.error as exc:
        reader.pf.add(line, f"match.{label}: regex {source!r} does not compile: {exc}")
        return None


def _check_kill_switch(reader: _NodeReader, nodes: Nodes) -> KillSwitchHint | None:
    if "kill_switch" not in nodes:
        return None
    key_line = reader.line(nodes["kill_switch"][0])
    if nodes["kill_switch"][1].tag == _NULL_TAG:
        reader.pf.add(key_line, "kill_switch has no flag: name the flag key to kill")
        return None
    entries = reader.mapping(nodes["kill_switch"][1], "kill_switch")
    if entries is None:
        return None
    for name, (key, _) in entries.items():
        if name not in _KILL_SWITCH_KEYS:
            reader.pf.add(reader.line(key), f"kill_switch: unknown key {name!r} (known: flag, scope)")
    flag = ""
    if "flag" not in entries:
        reader.pf.add(key_line, "kill_switch has no flag: name the flag key to kill")
    else:
        node = entries["flag"][1]
        ok, value = reader.value(node)
        if ok and isinstance(value, str) and _FLAG_RE.fullmatch(value):
            flag = value
        elif ok:
            reader.pf.add(reader.line(node), "kill_switch.flag must be a flag key like 'assistant.memory'")
    scope: list[str] = []
    if "scope" in entries:
        node = entries["scope"][1]
        ok, value = reader.value(node)
        if ok and isinstance(value, list) and all(isinstance(v, str) and _LABEL_RE.fullmatch(v) for v in value):
            scope = value
        elif ok:
            reader.pf.add(reader.line(node), "kill_switch.scope must be a list of label names, e.g. [tenant]")
    return KillSwitchHint(flag, scope) if flag else None
