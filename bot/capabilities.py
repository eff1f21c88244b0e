"""The one list of installed capabilities, in order, and the shape each one declares.

A capability is a folder under ``bot/`` (cost, refusals, triage, ...) whose
``__init__.py`` exports ``CAPABILITY = Capability(...)``. The low-level modules
(``bot/slack``, ``bot/app.py``, ``bot/__main__.py``, ``bot/services.py``,
``bot/config.py``, the detector kernel) never import a capability: they read
what they need from :func:`installed`, the way Django reads ``INSTALLED_APPS``.

How to add a capability
-----------------------
1. Make its folder, e.g. ``bot/latency/``, with plain functions and their tests.
2. In ``bot/latency/__init__.py`` declare what it adds; every field is optional::

       from bot.capabilities import Capability
       from bot.detectors import DetectorSpec
       from bot.latency import command, detector, home, jobs, routes, cli, demo
       from bot.latency.config import LatencyConfig

       CAPABILITY = Capability(
           name="latency",
           detectors=[DetectorSpec("latency_fallback", detector.detect, every=timedelta(minutes=1))],
           jobs=jobs.JOBS,                    # bot.scheduler.Job: things that need memory between runs
           commands=[command.COMMAND],        # bot.slack.registry.SlashCommand (in the manifest too)
           listeners=[command.register],      # register(app, services, access): actions, views, shortcuts
           home_sections=[home.section],      # (services, now) -> list of blocks
           routes=routes.ROUTES,              # starlette routes; handlers read request.app.state.services
           cli=[cli.latency],                 # click commands or groups added to ``afterlaunch``
           demo=[demo.scene],                 # (DemoContext) -> None, printed by ``afterlaunch demo``
           config={"latency": LatencyConfig}, # [latency] in the TOML file, then settings.file.latency
       )

   Keep imports inside the folder's modules light: the list below imports
   every capability package when a registry first asks for it.
3. Add ``"bot.latency"`` to ``INSTALLED`` below. That is all.

Notes for each field:

- ``detectors``: a :class:`bot.detectors.DetectorSpec` wraps a pure function
  ``(services, now) -> list[Finding]`` that returns what fires *now* and writes
  nothing. The kernel owns alarm state, hysteresis (``resolve_after``), dry runs,
  failure isolation and incident grouping; see :mod:`bot.detectors`. With
  ``every`` set, the kernel schedules it; with ``every=None`` a job of the
  capability calls ``run_detectors(services, now, only=[name])`` itself (when
  something must happen first, e.g. an import).
- ``config``: section name -> a pydantic model (or any type pydantic validates,
  e.g. ``dict[str, TenantConfig]`` for ``[tenants.<name>]`` tables). The type
  must validate an empty table, which is the default when the file lacks the
  section. Sections are validated at start with the other settings and read as
  ``settings.file.<name>``; an error names the file, the key and the reason.
- ``setup``: ``(services) -> None`` run once when services are built (attach a
  precomputed table to ``services``); ``workers``: ``(services) -> worker`` with
  ``start()``/``stop()``, started with the HTTP service on every replica.
- Order matters only for display: Home sections, the help card and the demo
  follow the order of ``INSTALLED``.

Tests install a capability of their own by patching the list, e.g.
``monkeypatch.setattr(capabilities, "INSTALLED", [*capabilities.INSTALLED, TEST_CAPABILITY])``:
entries may be a dotted module path or a :class:`Capability` itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import click
    from slack_bolt import App
    from starlette.routing import BaseRoute

    from bot.access import AccessChecker
    from bot.demo.run import DemoContext
    from bot.detectors import DetectorSpec
    from bot.scheduler import Job
    from bot.services import Services
    from bot.slack.home import Section
    from bot.slack.registry import SlashCommand


class Worker(Protocol):
    """A background thread a capability runs beside the HTTP service."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class Capability:
    """What one capability adds to afterlaunch; every registry reads these from :func:`installed`."""

    name: str
    detectors: Sequence[DetectorSpec] = ()
    jobs: Sequence[Job] = ()
    commands: Sequence[SlashCommand] = ()
    listeners: Sequence[Callable[[App, Services, AccessChecker], None]] = ()
    home_sections: Sequence[Section] = ()
    routes: Sequence[BaseRoute] = ()
    cli: Sequence[click.Command] = ()
    demo: Sequence[Callable[[DemoContext], None]] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    setup: Callable[[Services], None] | None = None
    workers: Sequence[Callable[[Services], Worker]] = ()


INSTALLED: list[str | Capability] = [
    "bot.ingest",
    "bot.cost",
    "bot.alerts",
    "bot.incidents",
    "bot.flags",
    "bot.refusals",
    "bot.triage",
    "bot.webhooks",
    "bot.leaks",
    "bot.otlp",
    "bot.evals",
    "bot.latency",
    "bot.drill",
]
"""The installed capabilities, in display order."""


def _load(entry: str | Capability) -> Capability:
    if isinstance(entry, Capability):
        return entry
    module = importlib.import_module(entry)
    capability = getattr(module, "CAPABILITY", None)
    if not isinstance(capability, Capability):
        raise TypeError(f"{entry} is listed in bot/capabilities.py but exports no CAPABILITY = Capability(...)")
    return capability


def installed() -> list[Capability]:
    """Every installed capability, in order (read at call time, so a test can patch the list)."""
    return [_load(entry) for entry in INSTALLED]


def config_sections() -> dict[str, Any]:
    """Every TOML section a capability declares: name -> the type its table validates as."""
    sections: dict[str, Any] = {}
    for capability in installed():
        for name, kind in capability.config.items():
            if name in sections:
                raise TypeError(f"config section [{name}] is declared twice (again by {capability.name})")
            sections[name] = kind
    return sections
