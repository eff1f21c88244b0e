from alembic import context
from sqlmodel import SQLModel

import storage.alarms
import storage.alerts_models
import storage.cost_models
import storage.drill
import storage.evals_models
import storage.flags_models
import storage.incidents_models
import storage.leaks_models
import storage.models
import storage.refusals_models  # noqa: F401

connection = context.config.attributes["connection"]


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # The FTS5 text index (virtual table and its shadow tables) is managed by hand.
    return not (type_ == "table" and name and name.startswith("request_fts"))


context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
