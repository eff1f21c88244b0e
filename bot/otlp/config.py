"""The ``[otlp]`` section: where in a span afterlaunch finds the tenant, intent and prompt version."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AttrName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class OtlpConfig(BaseModel):
    """Attribute lists are tried in order, first match wins; ``resource:`` names a resource attribute."""

    model_config = ConfigDict(extra="forbid")

    tenant: list[AttrName] = Field(
        default_factory=lambda: [
            "afterlaunch.tenant",
            "tenant.id",
            "traceloop.association.properties.tenant",
            "resource:afterlaunch.tenant",
            "resource:tenant.id",
        ]
    )
    intent: list[AttrName] = Field(
        default_factory=lambda: [
            "afterlaunch.intent",
            "intent",
            "traceloop.association.properties.intent",
            "resource:afterlaunch.intent",
        ]
    )
    prompt_version: list[AttrName] = Field(
        default_factory=lambda: [
            "afterlaunch.prompt_version",
            "prompt.version",
            "llm.prompt_template.version",
            "traceloop.prompt.version",
            "traceloop.association.properties.prompt_version",
            "resource:afterlaunch.prompt_version",
        ]
    )
    default_tenant: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    """Tenant for spans that carry none; unset, such spans are rejected in ``partial_success``."""
    join_window_seconds: float = Field(default=30, gt=0, le=30)
    """How long before an LLM call a retrieval in the same trace still counts as its context."""
    max_spans: int = Field(default=10_000, ge=1, le=100_000)
    """Spans in one export request; more is refused with 413 (exporters split batches at 512)."""
    litellm_tenant: list[AttrName] = Field(
        default_factory=lambda: ["metadata.user_api_key_team_alias", "metadata.team_alias"]
    )
    """Dotted paths into LiteLLM's standard logging payload giving the tenant, first match wins."""
    litellm_intent: list[AttrName] = Field(default_factory=lambda: ["metadata.requester_metadata.intent"])
    litellm_prompt_version: list[AttrName] = Field(
        default_factory=lambda: ["metadata.requester_metadata.prompt_version"]
    )
