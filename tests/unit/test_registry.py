"""The action registry: one entry per action, its rung joined with its steps in act/."""

from __future__ import annotations

import pytest

from endpoint_optimizer.act import park as park_steps
from endpoint_optimizer.decide.rules import LADDER, risk_rank
from endpoint_optimizer.decide.rules.base import REGISTERED, Rung, register
from endpoint_optimizer.models import Action
from endpoint_optimizer.registry import ACTIONS


def test_every_action_but_none_is_registered_once_by_its_name() -> None:
    """GIVEN the actions of the plan contract
    WHEN the registry is read
    THEN each action but "none" has exactly one entry, under its own name.
    """
    assert set(ACTIONS) == {action.value for action in Action if action != Action.NONE}
    assert all(entry.name == name == entry.rung.action.value for name, entry in ACTIONS.items())


def test_the_ladder_walks_the_rungs_in_their_declared_order() -> None:
    """GIVEN the rungs, each with its position on the ladder
    WHEN the ladder is read
    THEN it is in that order: park first, the fleet-level consolidate last.
    """
    assert [rung.action for rung in LADDER] == [
        Action.PARK, Action.SCALE_TO_ZERO, Action.MIGRATE_SERVERLESS, Action.SCHEDULE,
        Action.RIGHTSIZE, Action.MIGRATE_GRAVITON, Action.CONSOLIDATE,
    ]  # fmt: skip
    assert [rung.position for rung in LADDER] == sorted(rung.position for rung in LADDER)
    assert [rung.action for rung in LADDER if rung.evaluate_fleet is not None] == [Action.CONSOLIDATE]


def test_a_runs_actions_are_chosen_smallest_risk_first() -> None:
    """GIVEN each rung's risk rank
    WHEN the actions are sorted by it
    THEN the order is the blast-radius order: reversible in one step and small first; an action without a
    rung ranks after every rung.
    """
    assert sorted(ACTIONS.values(), key=lambda entry: entry.rung.risk_rank) == [
        ACTIONS[name]
        for name in (
            "schedule", "scale_to_zero", "park", "rightsize", "migrate_graviton", "migrate_serverless",
            "consolidate",
        )
    ]  # fmt: skip
    assert risk_rank(Action.NONE) > max(rung.risk_rank for rung in LADDER)


def test_only_applied_actions_have_apply_steps_and_park_has_its_way_back() -> None:
    """GIVEN the registry
    WHEN the steps of each action are read
    THEN park is applied by act.park.park, recovered by act.park.recover and undone by act.park.restore
    (it verifies inside park: no step of its own); every report-only action has no step at all.
    """
    park = ACTIONS["park"]
    assert (park.applied, park.apply, park.recover, park.undo, park.verify) == (
        True,
        park_steps.park,
        park_steps.recover,
        park_steps.restore,
        None,
    )
    for entry in ACTIONS.values():
        if not entry.applied:
            assert (entry.apply, entry.recover, entry.undo, entry.verify) == (None, None, None, None), (
                entry.name
            )


def test_a_second_rung_for_an_action_or_a_position_is_refused() -> None:
    """GIVEN the registered rungs
    WHEN a rung is registered again for the same action, or for a position already taken
    THEN registration fails, and the registry is unchanged.
    """
    before = dict(REGISTERED)
    park = REGISTERED[Action.PARK]
    with pytest.raises(ValueError, match="registered twice"):
        register(park)
    with pytest.raises(ValueError, match="share position"):
        register(
            Rung(
                action=Action.NONE,
                position=park.position,
                risk_rank=99,
                reads=(),
                writes=(),
                applied=False,
                reduces_capacity=False,
            )
        )
    assert before == REGISTERED
