"""Ingest: the event API every LLM request reaches afterlaunch through, and the request API to read them back."""

from bot.capabilities import Capability
from bot.ingest import views
from bot.ingest.indexer import TextIndexer
from bot.ingest.setup import prepare

CAPABILITY = Capability(name="ingest", routes=views.routes, setup=prepare, workers=[TextIndexer])
