"""One validated settings object: environment variables plus an optional TOML file."""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "changethis", "secret", "password", "xxx", "todo"}

SlackId = Annotated[str, StringConstraints(pattern=r"^[USWGB][A-Z0-9]{2,}$")]
"""A Slack user (U/W), user group (S) or bot (B) id."""


class ConfigError(Exception):
    """A setting is wrong; the message names it and says what is expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceOverride(_Strict):
    input: float = Field(ge=0, description="USD per 1M input tokens")
    output: float = Field(ge=0, description="USD per 1M output tokens")
    cached: float | None = Field(default=None, ge=0, description="USD per 1M cached input tokens")


class BudgetConfig(_Strict):
    cohort: dict[Literal["tenant", "intent", "prompt_version", "model"], str] = Field(default_factory=dict)
    period: Literal["day", "month"] = "month"
    usd: float = Field(gt=0)


class FlagConfig(_Strict):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
    description: str = ""
    owner: str | None = None


class ChannelsConfig(_Strict):
    default: str | None = None
    ops: str | None = None
    triage: str | None = None


class FileConfig(_Strict):
    """What the TOML file may hold; unknown keys are refused so typos do not pass silently."""

    prices: dict[str, PriceOverride] = Field(default_factory=dict)
    budgets: list[BudgetConfig] = Field(default_factory=list)
    flags: list[FlagConfig] = Field(default_factory=list)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    access: dict[str, list[SlackId]] = Field(default_factory=dict)
    request_id_patterns: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFTERLAUNCH_", extra="ignore", populate_by_name=True)

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "AFTERLAUNCH_DATABASE_URL")
    )
    config_file: Path = Field(
        default=Path("afterlaunch.toml"), validation_alias=AliasChoices("AFTERLAUNCH_CONFIG", "config_file")
    )
    secret_key: SecretStr | None = None
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token")
    )
    slack_api_url: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url"))
    default_channel: str = "#ai-oncall"
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    retention_body_days: int = Field(default=30, ge=1, le=3650)
    retention_days: int = Field(default=395, ge=1, le=3650, description="requests and hourly rollups")
    retention_minute_rollup_days: int = Field(default=35, ge=2, le=3650)
    max_batch_events: int = Field(default=1000, ge=1, le=10_000)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    run_migrations: bool = True
    scheduler: bool = True
    file: FileConfig = Field(default_factory=FileConfig)

    @field_validator("secret_key", "slack_signing_secret")
    @classmethod
    def _no_placeholder(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; set a real random value")
        return v

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token (starts with xoxb-)")
        return v

    @model_validator(mode="after")
    def _slack_pairs(self) -> Settings:
        if self.slack_bot_token and not self.slack_signing_secret and not self.slack_app_token:
            raise ValueError(
                "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: Slack requests cannot be verified"
            )
        return self

    @property
    def local_mode(self) -> bool:
        """No Slack token: cards go to the local outbox and the terminal instead of Slack."""
        return self.slack_bot_token is None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'afterlaunch.db'}"

    def resolve_secret_key(self) -> bytes:
        """The key for hashing user ids. Generated once into the data directory on SQLite;
        required on PostgreSQL, where every replica must hash the same way."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        if not self.db_url.startswith("sqlite"):
            raise ConfigError(
                "AFTERLAUNCH_SECRET_KEY is required with PostgreSQL: every replica must hash user ids alike"
            )
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
        return path.read_text().strip().encode()


_ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "config_file": "AFTERLAUNCH_CONFIG",
}


def _describe(err: ValidationError, *, source: str | None = None) -> str:
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        if source is None and loc:
            name = _ENV_NAMES.get(loc[0], f"AFTERLAUNCH_{loc[0].upper()}")
        else:
            name = f"{source}: {'.'.join(loc)}" if loc else str(source)
        lines.append(f"{name}: {e['msg']}")
    return "; ".join(lines)


def load_file_config(path: Path) -> FileConfig:
    if not path.exists():
        return FileConfig()
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return FileConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source=str(path))) from exc


def load_settings(**overrides: Any) -> Settings:
    """Read and validate everything once at start; a bad setting stops the start with its name."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    if "file" not in overrides:
        settings.file = load_file_config(settings.config_file)
    return settings
