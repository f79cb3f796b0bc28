"""The action registry: every action by name, its rung on the fix ladder joined with its steps in act/.

One entry per action (like Cloud Custodian's action registry): the rung (`decide.rules`) owns the name,
the ladder position, the risk rank, what the scan must read for it to judge, what applying it calls in
IAM, whether it is applied or report only, and whether it takes capacity away; act/ owns the steps that
carry it out. A move that a benchmark must confirm first (rightsize, Graviton, serverless) also names what
confirming it calls (`confirm`: confirm/, through the recommend function). The IAM of the scan, of the
member-account role, of the apply function and of the recommend function is derived from here
(`scan_reads`, `apply_permissions`, `confirm_permissions`) and compared with the templates by
tests/unit/test_template.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from endpoint_optimizer.act import blue_green, scale_to_zero, schedule, serverless
from endpoint_optimizer.act.park import park, recover, restore
from endpoint_optimizer.act.steps import ChangeSteps
from endpoint_optimizer.decide.ladder import GUARD_READS
from endpoint_optimizer.decide.rules import LADDER, Rung
from endpoint_optimizer.models import Action

Step = Callable[..., Any]


@dataclass(frozen=True)
class RegisteredAction:
    rung: Rung
    apply: Step | None = None  # carries the change out (after the approval, with a re-check first)
    recover: Step | None = None  # the workflow's Catch: finishes or rolls back a change that died half-way
    undo: Step | None = None  # brings the endpoint back as it was (the operator's one-step way back)
    # A check after the change, when it is a step of its own. Park has none: `park` itself re-checks
    # before the change and waits for the endpoint to be gone after it, in the same call.
    verify: Step | None = None
    # What confirming the move with an Inference Recommender job calls (empty: no benchmark confirms it).
    confirm: tuple[str, ...] = ()
    # The steps of the apply workflow (act/steps.py) for every applied action but park (one step).
    steps: ChangeSteps | None = None
    # Reversible in one step and low risk: `auto` mode applies it without asking; every other action
    # always asks for an approval (docs/decisions.md, issue 10).
    auto: bool = False

    @property
    def name(self) -> str:
        return self.rung.name

    @property
    def confirmed_by_benchmark(self) -> bool:
        return bool(self.confirm)

    @property
    def applied(self) -> bool:
        return self.rung.applied


# The apply steps of each applied action (act/). Every other action is report only.
STEPS: dict[Action, dict[str, Step]] = {
    Action.PARK: {"apply": park, "recover": recover, "undo": restore},
}

# What confirm/ calls on endpoints and metrics to benchmark a move (the recommend function's SageMaker and
# CloudWatch IAM; its S3 and iam:PassRole are its own plumbing):
# - the endpoint, its config and model (ModelName, image, Data Capture) and its tags (the payload tag);
# - the baseline: p99 ModelLatency and the busiest minute (GetMetricData, confirm/observed.py);
# - the job: a recent one to reuse (List, then Describe), create, poll (Describe), stop past its deadline,
#   and the failed benchmarks' reasons (ListInferenceRecommendationsJobSteps) (confirm/jobs.py).
CONFIRM_PERMISSIONS: tuple[str, ...] = (
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:ListTags",
    "cloudwatch:GetMetricData",
    "sagemaker:ListInferenceRecommendationsJobs",
    "sagemaker:CreateInferenceRecommendationsJob",
    "sagemaker:DescribeInferenceRecommendationsJob",
    "sagemaker:StopInferenceRecommendationsJob",
    "sagemaker:ListInferenceRecommendationsJobSteps",
)
# A Graviton move of an x86 image is benchmarked on a throwaway copy of the model on the arm64 build of
# its image (confirm/arm64_model.py): made before the job (DescribeModel, as above, then CreateModel) and
# deleted after it; the template scopes both to model/eo-arm64-*.
ARM64_BENCHMARK_MODEL_PERMISSIONS: tuple[str, ...] = ("sagemaker:CreateModel", "sagemaker:DeleteModel")
# The moves whose target and savings a utilisation heuristic alone cannot promise (issue 9).
CONFIRMED: dict[Action, tuple[str, ...]] = {
    Action.RIGHTSIZE: CONFIRM_PERMISSIONS,
    Action.MIGRATE_GRAVITON: CONFIRM_PERMISSIONS + ARM64_BENCHMARK_MODEL_PERMISSIONS,
    Action.MIGRATE_SERVERLESS: CONFIRM_PERMISSIONS,
}

# The steps of each action applied through the apply workflow (act/<action>.py).
CHANGE_STEPS: dict[Action, ChangeSteps] = {
    Action.SCALE_TO_ZERO: scale_to_zero.STEPS,
    Action.MIGRATE_SERVERLESS: serverless.STEPS,
    Action.SCHEDULE: schedule.STEPS,
    Action.RIGHTSIZE: blue_green.RIGHTSIZE_STEPS,
    Action.MIGRATE_GRAVITON: blue_green.GRAVITON_STEPS,
}
# Reversible in one step (restore, undo) and low risk: what `auto` mode applies without a person.
AUTO: frozenset[Action] = frozenset({Action.PARK, Action.SCALE_TO_ZERO, Action.SCHEDULE})

ACTIONS: dict[str, RegisteredAction] = {
    entry.name: RegisteredAction(
        entry,
        **STEPS.get(entry.action, {}),
        confirm=CONFIRMED.get(entry.action, ()),
        steps=CHANGE_STEPS.get(entry.action),
        auto=entry.action in AUTO,
    )
    for entry in LADDER
}


def steps_for(action: Action) -> ChangeSteps | None:
    """The apply workflow's steps of `action` (None: park, which is one step, or a report-only action)."""
    entry = ACTIONS.get(action.value)
    return entry.steps if entry is not None and entry.applied else None


def applies_without_approval(action: Action) -> bool:
    """Whether `auto` mode may apply `action` with no approval (reversible in one step, low risk)."""
    entry = ACTIONS.get(action.value)
    return entry is not None and entry.applied and entry.auto


def scan_reads() -> frozenset[str]:
    """What the scan reads (in this account, and through the member role): what every decision reads and
    what each rung reads to judge."""
    return frozenset(GUARD_READS).union(*(action.rung.reads for action in ACTIONS.values()))


def apply_permissions() -> frozenset[str]:
    """What the apply function calls: the write permissions of the actions it carries out."""
    return frozenset().union(*(action.rung.writes for action in ACTIONS.values() if action.applied))


def confirm_permissions() -> frozenset[str]:
    """What the recommend function calls on endpoints and metrics: what confirming each move calls."""
    return frozenset().union(*(action.confirm for action in ACTIONS.values()))


def confirmed_by_benchmark(action: Action) -> bool:
    """Whether a finding with `action` is confirmed by an Inference Recommender job before anyone approves it."""
    entry = ACTIONS.get(action.value)
    return entry is not None and entry.confirmed_by_benchmark
