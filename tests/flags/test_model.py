from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.flags.model import EvaluationError, FlagView, evaluate, parse_context, parse_scope


def test_parse_scope_reads_known_dimensions() -> None:
    assert parse_scope(["tenant=acme", "intent=billing"]) == {"tenant": "acme", "intent": "billing"}
    assert parse_scope([]) == {}


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["acme"], "name=value"),
        (["colour=red"], "cannot scope a kill"),
        (["tenant="], "needs a value"),
        (["tenant=a", "tenant=b"], "given twice"),
        (["tenant=" + "x" * 200], "needs a value"),
    ],
)
def test_bad_scope_is_named(tokens: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_scope(tokens)


def test_unkilled_flag_is_on_statically() -> None:
    result = evaluate(FlagView("assistant"), {})
    assert (result.value, result.reason, result.variant) == (True, "STATIC", "on")


def test_global_kill_turns_everyone_off() -> None:
    result = evaluate(FlagView("assistant", kills=({},)), {"tenant": "acme"})
    assert (result.value, result.variant) == (False, "off")


def test_scoped_kill_matches_only_its_cohort() -> None:
    flag = FlagView("assistant", kills=({"tenant": "acme", "intent": "billing"},))
    assert evaluate(flag, {"tenant": "acme", "intent": "billing"}).value is False
    assert evaluate(flag, {"tenant": "acme", "intent": "search"}).value is True
    assert evaluate(flag, {"tenant": "globex"}).value is True  # cannot be acme's billing: no intent needed
    assert evaluate(flag, {"tenant": "acme", "intent": "billing"}).reason == "TARGETING_MATCH"


def test_tenant_kill_without_a_tenant_is_targeting_key_missing() -> None:
    with pytest.raises(EvaluationError) as err:
        evaluate(FlagView("assistant", kills=({"tenant": "acme"},)), {})
    assert err.value.code == "TARGETING_KEY_MISSING"


def test_kill_on_an_attribute_the_context_lacks_is_invalid_context() -> None:
    with pytest.raises(EvaluationError) as err:
        evaluate(FlagView("assistant", kills=({"model": "gpt-4o"},)), {"tenant": "acme"})
    assert err.value.code == "INVALID_CONTEXT"
    assert "model" in err.value.details


def test_context_tenant_falls_back_to_targeting_key_and_bound_keys_cannot_ask_for_others() -> None:
    assert parse_context({"targetingKey": "acme"}, bound_tenant=None) == {"tenant": "acme"}
    assert parse_context({}, bound_tenant="acme") == {"tenant": "acme"}
    with pytest.raises(EvaluationError, match="another tenant"):
        parse_context({"tenant": "globex"}, bound_tenant="acme")
    with pytest.raises(EvaluationError, match="must be a string"):
        parse_context({"tenant": 5}, bound_tenant=None)
    with pytest.raises(EvaluationError, match="JSON object"):
        parse_context([1], bound_tenant=None)
