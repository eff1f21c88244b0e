"""A capability that lives only under tests/: one of everything a capability may add.

Installed by adding it to the list (``"tests.echo"`` in ``bot.capabilities.INSTALLED``),
it proves that a capability needs nothing outside its folder: a detector, a job, a slash
command with a button, a Home section, a route, a CLI command and a config section.
"""

from datetime import timedelta

from bot.capabilities import Capability
from bot.detectors import DetectorSpec
from tests.echo import parts

CAPABILITY = Capability(
    name="echo",
    detectors=[DetectorSpec("echo_errors", parts.detect_errors, every=timedelta(minutes=1))],
    jobs=[parts.TICK],
    commands=[parts.COMMAND],
    listeners=[parts.register],
    home_sections=[parts.home_section],
    routes=parts.ROUTES,
    cli=[parts.echo],
    config={"echo": parts.EchoConfig},
)
