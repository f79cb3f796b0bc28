"""Fault injection over every AWS call of park and of restore: the Lambda dies before the call, the call
errors, the call goes through but its reply is lost, or AWS is out from that call on.

After each fault the workflow does what it does in production -- the apply step's Catch runs `recover`
(once the outage is over); a person whose restore failed runs it again -- and then the invariant must
hold: 0 endpoints lost, 0 left without their autoscaling, and every parked one restores identically.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from emulated_aws.server import EmulatedAws
from endpoint_optimizer.act.park import RestoreFailed, recover
from endpoint_optimizer.models import ProposedAction
from tests.integration.faults import MODES, Faults, LambdaDied, Mode, clients_for
from tests.integration.parkable import (
    NOW,
    fresh,
    park,
    restore_parked,
    scanned_park_action,
    serving_state,
    table_of,
)


@pytest.fixture(scope="module")
def scanned(aws: EmulatedAws) -> ProposedAction:
    """One scan for every trial: each trial rebuilds the same endpoint at the same fixed time."""
    fresh(aws)
    return scanned_park_action(aws)


def verdict(aws: EmulatedAws, before: dict[str, Any] | None) -> str:
    """serving (identical) | parked, restored identically | LOST | STRIPPED (serving without its
    autoscaling or otherwise changed)."""
    now = serving_state(aws)
    if now is None:
        try:
            restore_parked(clients_for(aws))
        except Exception as error:  # reported in the table, asserted below
            return f"LOST ({type(error).__name__}: {error})"
        return (
            "parked, restored identically" if serving_state(aws) == before else "LOST (restored differently)"
        )
    return "serving, identical" if now == before else f"STRIPPED ({now})"


def calls_of(aws: EmulatedAws, scanned: ProposedAction, run: str) -> list[str]:
    """The AWS calls of a fault-free park (and restore), in order: the points to inject at."""
    fresh(aws, metrics=False)
    faults = Faults()
    clients = faults.attach(clients_for(aws))
    park(clients, scanned)
    if run == "restore":
        faults.calls.clear()
        restore_parked(clients)
    return list(faults.calls)


def park_trial(aws: EmulatedAws, scanned: ProposedAction, mode: Mode, at: int) -> str:
    fresh(aws, metrics=False)
    before = serving_state(aws)
    faults = Faults(mode=mode, at=at)
    clients = faults.attach(clients_for(aws))
    try:
        park(clients, scanned)
    except (LambdaDied, Exception) as error:
        faults.active = False  # the outage ends; Step Functions runs the apply step's Catch
        recovered = recover(
            clients.sagemaker,
            clients.autoscaling,
            table_of(clients),
            scanned,
            error=repr(error),
            approved_by="U1",
            now=NOW,
        )
        assert recovered.outcome in ("applied", "failed")
    faults.active = False
    return verdict(aws, before)


def restore_trial(aws: EmulatedAws, scanned: ProposedAction, mode: Mode, at: int) -> str:
    fresh(aws, metrics=False)
    before = serving_state(aws)
    park(clients_for(aws), scanned)
    faults = Faults(mode=mode, at=at)
    clients = faults.attach(clients_for(aws))
    try:
        restore_parked(clients)
    except (LambdaDied, Exception):
        faults.active = False
        try:
            restore_parked(clients_for(aws))  # the person runs restore again: it resumes
        except RestoreFailed as error:
            # the fault hit after the restore was complete (e.g. its ledger write's reply was lost)
            if "nothing to restore" not in str(error):
                raise
    return verdict(aws, before)


def fault_table(aws: EmulatedAws, scanned: ProposedAction, run: str) -> list[tuple[str, int, str, str]]:
    calls = calls_of(aws, scanned, run)
    trial = park_trial if run == "park" else restore_trial
    return [
        (mode, k, call, trial(aws, scanned, mode, k)) for mode in MODES for k, call in enumerate(calls, 1)
    ]


# Every call x every mode is ~2 minutes of CPU: `make faults` runs it; `make test` runs the calls that
# change something (below), where a fault is most likely to lose an endpoint.
@pytest.mark.faults
@pytest.mark.parametrize("run", ["park", "restore"])
def test_no_fault_at_any_call_loses_an_endpoint_or_its_autoscaling(
    aws: EmulatedAws, scanned: ProposedAction, run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN every call of a fault-free run, WHEN a fault of each kind hits each call in turn
    rows = fault_table(aws, scanned, run)
    with capsys.disabled():  # the table, for anyone who reruns it with -s
        print(
            f"\n{run}: {len(rows)} trials; "
            + ", ".join(f"{v}: {n}" for v, n in Counter(r[3] for r in rows).items())
        )
    # THEN every trial ends serving as before or parked and restored identically
    bad = [
        row for row in rows if not row[3].startswith(("serving, identical", "parked, restored identically"))
    ]
    assert bad == []
    # the change itself was among the calls hit (not only the reads before it)
    assert {"DeleteEndpoint" if run == "park" else "CreateEndpoint"} <= {row[2] for row in rows}


@pytest.fixture(scope="module")
def fault_free_calls() -> dict[str, list[str]]:
    """The calls of a fault-free park / restore, found once per module (the same every time)."""
    return {}


# The writes of a park and of a restore: the calls after which the endpoint is no longer what it was.
CHANGING_CALLS = {
    "park": ("DeregisterScalableTarget", "DeleteEndpoint"),
    "restore": ("CreateEndpoint", "RegisterScalableTarget"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", [f"{run}:{call}" for run, calls in CHANGING_CALLS.items() for call in calls])
def test_a_fault_at_a_call_that_changes_the_endpoint_loses_nothing(
    aws: EmulatedAws, scanned: ProposedAction, fault_free_calls: dict[str, list[str]], case: str, mode: Mode
) -> None:
    # GIVEN the calls of a fault-free park (and restore), WHEN `mode` hits the first `call` among them
    run, call = case.split(":")
    calls = fault_free_calls.get(run) or fault_free_calls.setdefault(run, calls_of(aws, scanned, run))
    trial = park_trial if run == "park" else restore_trial
    # THEN the endpoint serves as before, or is parked and restores identically
    verdict = trial(aws, scanned, mode, calls.index(call) + 1)
    assert verdict.startswith(("serving, identical", "parked, restored identically")), verdict


def test_a_park_that_died_half_way_is_settled_before_the_next_park_snapshots(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN a park that died right after deregistering the scalable target, and no Catch ran
    calls = calls_of(aws, scanned, "park")
    died_at = calls.index("DeregisterScalableTarget") + 2
    fresh(aws, metrics=False)
    before = serving_state(aws)
    faults = Faults(mode="dies", at=died_at)
    with pytest.raises(LambdaDied):
        park(faults.attach(clients_for(aws)), scanned)
    assert serving_state(aws) != before  # serving without its autoscaling
    # WHEN the next day's run parks it again (another action)
    park(clients_for(aws), scanned.model_copy(update={"action_id": "next-day"}))
    # THEN what it snapshotted was whole: restore brings back the autoscaling the first park took away
    restore_parked(clients_for(aws))
    assert serving_state(aws) == before


@pytest.fixture(autouse=True)
def _no_leftover(aws: EmulatedAws) -> Iterator[None]:
    yield
    aws.reset()
