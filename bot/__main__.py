"""The ``afterlaunch`` command line."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from bot import logs
from bot.config import ConfigError, Settings, load_settings
from bot.errors import AfterlaunchError, problem_of


def _settings(**overrides: object) -> Settings:
    """Settings for a command; a bad one stops it with its name (the group turns the error into a message)."""
    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def _secrets(settings: Settings) -> list[str]:
    return logs.secrets_of(settings)


def capability_commands() -> dict[str, click.Command]:
    """``detect`` (the detector kernel) and every installed capability's commands, by name."""
    from bot.capabilities import installed
    from bot.detectors.cli import detect

    found: dict[str, click.Command] = {"detect": detect}
    for capability in installed():
        for command in capability.cli:
            if command.name in found:
                raise click.ClickException(f"{capability.name} adds a command '{command.name}' that already exists")
            found[str(command.name)] = command
    return found


class CapabilityGroup(click.Group):
    """The core commands, plus those of the installed capabilities, looked up when asked for
    (click's documented lazy-group pattern), so the list is read when the command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *capability_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or capability_commands().get(cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """Every command's known errors become a one-line message (and exit 1), never a traceback."""
        try:
            return super().invoke(ctx)
        except AfterlaunchError as exc:
            prefix = "configuration error: " if isinstance(exc, ConfigError) else ""
            raise click.ClickException(prefix + problem_of(exc, where=ctx.info_name or "afterlaunch").message) from None


@click.group(cls=CapabilityGroup)
def cli() -> None:
    """afterlaunch: Slack ChatOps for the weeks after an AI launch."""


@cli.command()
@click.option("--host", default=None, help="interface to listen on (default 127.0.0.1)")
@click.option("--port", default=None, type=int, help="port (default 3000)")
@click.option("--socket-mode", is_flag=True, help="receive Slack over Socket Mode (needs SLACK_APP_TOKEN)")
@click.option(
    "--workers",
    default=1,
    type=click.IntRange(1, 64),
    show_default=True,
    help="server processes sharing the port (one per core for heavy event ingestion)",
)
def serve(host: str | None, port: int | None, socket_mode: bool, workers: int) -> None:
    """Run the HTTP service: event API, Slack endpoints, webhooks, scheduler."""
    import uvicorn

    from bot.app import create_app, tune_interpreter
    from bot.services import build_services

    settings = _settings(host=host, port=port)
    logs.configure(settings.log_level, _secrets(settings))
    if socket_mode and (settings.slack_app_token is None or settings.slack_bot_token is None):
        raise click.ClickException("--socket-mode needs SLACK_APP_TOKEN (xapp-…) and SLACK_BOT_TOKEN")
    if socket_mode and workers > 1:
        raise click.ClickException("--socket-mode holds one Slack connection: run it with --workers 1")
    if workers > 1:
        # Every process builds its own service from the same environment; the file
        # and advisory locks elect one of them to run the scheduler and send cards.
        build_services(settings).close()  # migrate once, and report a bad setting here
        os.environ["AFTERLAUNCH_HOST"], os.environ["AFTERLAUNCH_PORT"] = settings.host, str(settings.port)
        uvicorn.run(
            "bot.app:app_from_env",
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
        )
        return
    app = create_app(settings)
    if socket_mode:
        from bot.slack.socket import start_socket_mode

        start_socket_mode(app.state.services)
    tune_interpreter()
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (also done on start)."""
    from storage.engine import connect
    from storage.migrate import current, upgrade

    settings = _settings()
    database = connect(settings.db_url)
    upgrade(database.write_engine)
    click.echo(f"schema at revision {current(database.engine)} ({database.engine.dialect.name})")


@cli.group()
def keys() -> None:
    """API keys for the event API, the request API and flag evaluation."""


@keys.command("create")
@click.option("--name", required=True, help="who uses it, e.g. 'assistant-prod'")
@click.option("--tenant", default=None, help="bind the key to one tenant")
@click.option(
    "--scope", "scopes", multiple=True, default=("ingest", "read"), show_default=True, help="ingest, read or flags"
)
def keys_create(name: str, tenant: str | None, scopes: tuple[str, ...]) -> None:
    """Create a key and print it once: it is stored only as a hash."""
    from bot.services import build_services
    from storage import keys as key_store

    services = build_services(_settings(scheduler=False))
    try:
        with services.db.write_session() as session:
            key, raw = key_store.create_key(
                session=session, name=name, tenant=tenant, scopes=set(scopes), now=datetime.now(UTC)
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"key {key.id} '{name}'" + (f" for tenant {tenant}" if tenant else " for all tenants"))
    click.echo(f"scopes: {key.scopes}")
    click.echo(raw)
    click.echo("Store it now: it cannot be shown again.", err=True)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from bot.services import build_services
    from storage import keys as key_store

    services = build_services(_settings(scheduler=False))
    with services.db.session() as session:
        for k in key_store.list_keys(session=session):
            state = "revoked" if k.revoked_at else "active"
            click.echo(f"{k.id:>4}  {k.prefix}…  {k.name:<24} {k.tenant or '*':<16} {k.scopes:<20} {state}")


@keys.command("revoke")
@click.argument("key_id", type=int)
def keys_revoke(key_id: int) -> None:
    """Revoke a key at once."""
    from bot.services import build_services
    from storage import keys as key_store

    services = build_services(_settings(scheduler=False))
    with services.db.write_session() as session:
        key = key_store.revoke_key(session=session, key_id=key_id, now=datetime.now(UTC))
    if key is None:
        raise click.ClickException(f"no key with id {key_id}")
    click.echo(f"key {key_id} revoked")


@cli.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="default: a fresh temporary folder")
@click.option("--days", default=7, show_default=True, help="days of synthetic traffic")
@click.option("--per-day", default=3000, show_default=True, help="requests per day across all tenants")
def demo(data_dir: Path | None, days: int, per_day: int) -> None:
    """Start the service on SQLite, send a synthetic week of traffic, show what afterlaunch saw."""
    from bot.demo.run import run_demo

    run_demo(data_dir=data_dir, days=days, per_day=per_day)


@cli.command()
@click.option("--url", required=True, help="public base URL of this service, e.g. https://afterlaunch.example.com")
@click.option("--socket-mode", is_flag=True, help="a manifest for Socket Mode (no request URLs)")
def manifest(url: str, socket_mode: bool) -> None:
    """Print the Slack app manifest (YAML) declaring every command, event and scope the bot uses."""
    from bot.slack.commands import all_commands
    from bot.slack.manifest import manifest_yaml

    click.echo(manifest_yaml(all_commands(), url=url, socket_mode=socket_mode), nl=False)


@cli.command()
@click.argument("command_line")
@click.option("--user", default="U0LOCAL00", show_default=True, help="Slack user id to act as (for [access] checks)")
@click.option("--channel", default="C0LOCAL00", show_default=True, help="channel id the command is run in")
def ask(command_line: str, user: str, channel: str) -> None:
    """Run a slash command through the same code as Slack and print the card: '/cost by tenant 24h'."""
    from bot.slack.ask import ask_once

    settings = _settings(scheduler=False)
    logs.configure("WARNING", _secrets(settings))
    code = ask_once(settings, command_line, user=user, channel=channel, echo=click.echo)
    sys.exit(code)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
