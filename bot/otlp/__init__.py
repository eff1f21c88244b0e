"""OTLP: LLM telemetry as teams already emit it (OpenTelemetry GenAI, OpenLLMetry, OpenInference spans
and the LiteLLM proxy's logs), stored as events of the event API."""

from bot.capabilities import Capability
from bot.otlp import views
from bot.otlp.config import OtlpConfig

CAPABILITY = Capability(name="otlp", routes=views.ROUTES, config={"otlp": OtlpConfig})
