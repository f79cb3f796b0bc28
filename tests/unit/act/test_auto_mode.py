"""`auto` mode applies without a person only what is reversible in one step (park, scale to zero,
schedule); a rightsize, Graviton or serverless move always asks, in the plan and again in the apply step."""

from __future__ import annotations

from endpoint_optimizer.act.apply import start
from endpoint_optimizer.decide.plan import choose_actions
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.stores import InMemoryStateTable
from endpoint_optimizer.models import Action, Finding
from endpoint_optimizer.registry import applies_without_approval, steps_for
from tests.conftest import NOW, policy


def _finding(name: str, action: Action) -> Finding:
    return Finding(
        endpoint_name=name,
        account_id="123456789012",
        region="us-east-1",
        action=action,
        current_monthly_cost_usd=100.0,
        estimated_monthly_savings_usd=50.0,
    )


def test_in_auto_mode_only_one_step_reversible_rungs_skip_the_approval_card() -> None:
    # GIVEN an auto-mode stack and one finding of each applied rung
    rungs = [Action.PARK, Action.SCALE_TO_ZERO, Action.SCHEDULE, Action.RIGHTSIZE, Action.MIGRATE_GRAVITON]
    findings = [_finding(f"e-{rung.value}", rung) for rung in [*rungs, Action.MIGRATE_SERVERLESS]]
    # WHEN the run chooses its actions with the registry's rule (as analysis does)
    actions, _ = choose_actions(
        findings,
        policy(MODE="auto", MAX_ACTIONS_PER_RUN=10, MAX_MONTHLY_CHANGE_USD=10_000),
        run_id="r",
        applies_without_approval=applies_without_approval,
    )
    # THEN park, scale to zero and schedule apply at once; the moves get a card
    modes = {action.finding.action: action.mode for action in actions}
    assert modes == {
        Action.PARK: "auto",
        Action.SCALE_TO_ZERO: "auto",
        Action.SCHEDULE: "auto",
        Action.RIGHTSIZE: "approve",
        Action.MIGRATE_GRAVITON: "approve",
        Action.MIGRATE_SERVERLESS: "approve",
    }


def test_an_auto_stack_refuses_a_rightsize_that_arrives_without_an_approval() -> None:
    # GIVEN an auto-mode stack and a rightsize event with no approval (forged, or an old plan)
    actions, _ = choose_actions([_finding("oversized", Action.RIGHTSIZE)], policy(MODE="approve"), run_id="r")
    (action,) = actions
    action = action.model_copy(update={"mode": "auto"})
    table = InMemoryStateTable()
    # WHEN the apply step starts it as the apply function does (the registry says whether auto may apply it)
    change = start(
        Clients(),
        table,
        action,
        steps=steps_for(Action.RIGHTSIZE),
        mode="auto",
        auto_applies=applies_without_approval(Action.RIGHTSIZE),
        skip_tag_key="endpoint-optimizer:skip",
        now=NOW,
    )
    # THEN it is refused before anything is read or recorded
    assert change.result is not None and change.result.outcome == "refused"
    assert "always asks for an approval" in change.result.detail
    assert table.intents("oversized") == []
