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
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import AfterlaunchError

PLACEHOLDER_SECRETS = {"changeme", "changethis", "secret", "password", "xxx", "todo"}

SlackId = Annotated[str, StringConstraints(pattern=r"^[USWGB][A-Z0-9]{2,}$")]
"""A Slack user (U/W), user group (S) or bot (B) id."""


class ConfigError(AfterlaunchError):
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
    require_second_approver: bool = False
    """A kill or restore of the whole flag (no scope) needs a second person with the killswitch access."""


class AutoTripRule(_Strict):
    """Lets a detector kill a scoped flag by itself: alerts whose labels equal ``match`` trip ``flag``."""

    match: dict[str, str] = Field(min_length=1)
    flag: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
    scope: list[Literal["tenant", "intent", "prompt_version", "model", "api_key_id"]] = Field(default_factory=list)


class KillSwitchConfig(_Strict):
    auto_trip: list[AutoTripRule] = Field(default_factory=list)


class ChannelsConfig(_Strict):
    default: str | None = None
    ops: str | None = None
    triage: str | None = None
    tenant_channels: dict[str, str] = Field(default_factory=dict)
    """Channel id -> tenant: /triage in that channel only ever shows that tenant's requests (issue 5)."""


class CostConfig(_Strict):
    """Burn-rate alarm thresholds and provider cost imports (issue 6); admin keys may also come from the env."""

    page_long_minutes: int = Field(default=15, ge=5, le=720)
    page_short_minutes: int = Field(default=5, ge=1, le=120)
    page_burn: float = Field(default=2.0, gt=1)
    ticket_long_minutes: int = Field(default=360, ge=30, le=4320)
    ticket_short_minutes: int = Field(default=30, ge=5, le=720)
    ticket_burn: float = Field(default=1.3, gt=1)
    baseline_days: int = Field(default=14, ge=1, le=90)
    min_share: float = Field(default=0.02, ge=0, le=1, description="share of total expected spend a cohort needs")
    min_requests: int = Field(default=50, ge=0, description="requests a cohort needs over the ticket short window")
    dimensions: list[Literal["tenant", "intent", "prompt_version", "model", "api_key_id"]] = Field(
        default_factory=lambda: ["tenant", "intent", "prompt_version", "model", "api_key_id"]
    )
    finance_gap: float = Field(default=0.02, gt=0, le=1)
    openai_base_url: str = "https://api.openai.com"
    openai_admin_key: SecretStr | None = None
    anthropic_base_url: str = "https://api.anthropic.com"
    anthropic_admin_key: SecretStr | None = None


class DetectorsConfig(_Strict):
    """The detector kernel: how many evaluations without a finding resolve its alarm (hysteresis)."""

    resolve_after: int = Field(default=3, ge=1, le=1000)
    resolve_after_by: dict[str, Annotated[int, Field(ge=1, le=1000)]] = Field(default_factory=dict)
    """Per detector, overriding both the default above and the detector's own choice."""


class FileConfig(BaseModel):
    """What the TOML file may hold; unknown keys are refused so typos do not pass silently.

    The fields below are the core's; each installed capability adds its own sections
    (``Capability.config``), validated here too and read as ``settings.file.<section>``.
    """

    model_config = ConfigDict(extra="allow")

    prices: dict[str, PriceOverride] = Field(default_factory=dict)
    budgets: list[BudgetConfig] = Field(default_factory=list)
    flags: list[FlagConfig] = Field(default_factory=list)
    killswitch: KillSwitchConfig = Field(default_factory=KillSwitchConfig)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    access: dict[str, list[SlackId]] = Field(default_factory=dict)
    request_id_patterns: list[str] = Field(default_factory=list)
    cost: CostConfig = Field(default_factory=CostConfig)
    detectors: DetectorsConfig = Field(default_factory=DetectorsConfig)

    @model_validator(mode="after")
    def _capability_sections(self) -> FileConfig:
        """Validate the capabilities' sections (their defaults when absent); refuse any other key."""
        extra = self.__pydantic_extra__ if self.__pydantic_extra__ is not None else {}
        sections = _sections()
        unknown = sorted(set(extra) - set(sections))
        if unknown:
            raise ValueError(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(_known(sections))}")
        for name, kind in sections.items():
            value = extra.get(name, {})
            extra[name] = TypeAdapter(kind).validate_python(value)
        return self

    def __getattr__(self, name: str) -> Any:
        # A capability's section is only known at run time; say which one is missing clearly.
        try:
            return super().__getattr__(name)  # type: ignore[misc]
        except AttributeError:
            raise AttributeError(f"no config section [{name}]: no installed capability declares it") from None


def _sections() -> dict[str, Any]:
    from bot.capabilities import config_sections  # the list, never a capability itself

    return config_sections()


def _known(sections: dict[str, Any]) -> list[str]:
    return sorted([*FileConfig.model_fields, *sections])


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
    webhook_token: SecretStr | None = None
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_webhook_secret: SecretStr | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
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

    def secret_values(self) -> list[str]:
        """Every secret in the settings and the config file, for the log redactor: a secret
        added later is covered without anyone remembering to list it."""
        found: list[str] = []

        def walk(value: object) -> None:
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    walk(getattr(value, name))
                for extra in (value.__pydantic_extra__ or {}).values():  # the capabilities' sections
                    walk(extra)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list | tuple):
                for v in value:
                    walk(v)

        walk(self)
        return [v for v in found if v]

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
    problems = _section_problems(data, source=str(path))
    if problems:
        raise ConfigError("; ".join(problems))
    try:
        return FileConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source=str(path))) from exc


def _section_problems(data: dict[str, Any], *, source: str) -> list[str]:
    """Capability sections checked one by one, so an error names the file, the key and the reason."""
    sections = _sections()
    problems = []
    for name, value in data.items():
        if name in FileConfig.model_fields:
            continue
        if name not in sections:
            problems.append(f"{source}: {name}: unknown section; known: {', '.join(_known(sections))}")
            continue
        try:
            TypeAdapter(sections[name]).validate_python(value)
        except ValidationError as exc:
            problems.append(_prefixed(exc, source, name))
    return problems


def _prefixed(err: ValidationError, source: str, section: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join([section, *(str(p) for p in e["loc"])])
        lines.append(f"{source}: {loc}: {e['msg']}")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate everything once at start; a bad setting stops the start with its name."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    if "file" not in overrides:
        settings.file = load_file_config(settings.config_file)
    return settings
