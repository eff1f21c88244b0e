"""Export the flags as a flagd flag-definition file, so flagd (or a file provider) can serve them
when afterlaunch is down. Kills become JSON Logic targeting over the same context attributes."""

from __future__ import annotations

from typing import Any

from bot.flags.model import FlagView, Scope, Snapshot

FLAGD_SCHEMA = "https://flagd.dev/schema/v0/flags.json"


def _condition(scope: Scope) -> dict[str, Any]:
    tests = []
    for name, value in scope.items():
        # The tenant may come as the 'tenant' attribute or as the targeting key, as in OFREP.
        attr: dict[str, Any] = (
            {"or": [{"var": "tenant"}, {"var": "targetingKey"}]} if name == "tenant" else {"var": name}
        )
        tests.append({"==": [attr, value]})
    return tests[0] if len(tests) == 1 else {"and": tests}


def flagd_flag(flag: FlagView) -> dict[str, Any]:
    """One boolean flag: variant 'on' (the feature runs) unless a kill matches."""
    killed_everywhere = any(not k for k in flag.kills)
    definition: dict[str, Any] = {
        "state": "ENABLED",
        "variants": {"on": True, "off": False},
        "defaultVariant": "off" if killed_everywhere else "on",
        "metadata": {"description": flag.description, "owner": flag.owner},
    }
    scoped = [k for k in flag.kills if k]
    if scoped and not killed_everywhere:
        branches: list[Any] = []
        for scope in scoped:
            branches += [_condition(scope), "off"]
        definition["targeting"] = {"if": [*branches, "on"]}
    return definition


def export_flagd(snapshot: Snapshot) -> dict[str, Any]:
    """The whole flag set, with the deployment version in the set's metadata."""
    return {
        "$schema": FLAGD_SCHEMA,
        "flags": {key: flagd_flag(snapshot.flags[key]) for key in sorted(snapshot.flags)},
        "metadata": {"flagSetId": "afterlaunch", "version": str(snapshot.version)},
    }
