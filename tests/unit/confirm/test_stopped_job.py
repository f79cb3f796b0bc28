"""A job past its deadline: "stop" asks IR once, the job is polled on until it is STOPPED (a few polls at
most), and "finish" reports the benchmarks it did finish as options and in the reason, the finding left
unconfirmed (a partial job is never chosen from). At the wire with botocore's Stubber: any other call, or
other parameters, fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_optimizer.confirm import workflow
from endpoint_optimizer.decide.confirm import confirm, confirmation_from
from endpoint_optimizer.infra.events import RecommenderJob
from endpoint_optimizer.infra.settings import RecommendSettings
from endpoint_optimizer.models import MoveToConfirm
from tests.conftest import NOW
from tests.unit.decide.confirm_samples import ROLE_ARN, baseline, described, finding, measured, prices

JOB = "eo-0123456789ab-202611301200-ranker"  # confirm_samples.described's job
PLANNED = ("ml.c5.2xlarge", "ml.c5.xlarge", "ml.c6g.xlarge")  # today's type and two candidates
SETTINGS = RecommendSettings.from_env(
    {
        "ARTIFACT_BUCKET": "artifacts-bucket",
        "AWS_REGION": "us-east-1",
        "RECOMMENDER_ROLE_ARN": ROLE_ARN,
        "RECOMMENDER_REUSE_DAYS": "0",
        "RECOMMENDER_POLL_SECONDS": "300",
        "LOOKBACK_DAYS": "14",
    }
)
# What the job measured before its deadline: a candidate that would be chosen from a completed job.
XLARGE = measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204)
STOPPED_WHY = (
    f"Inference Recommender job {JOB} stopped at its deadline after 1 of 3 benchmarks: "
    "1 x ml.c5.xlarge: p99 24 ms, up to 2,000 invocations/min, $0.2040/hour"
)


def finished_step(item: dict[str, Any]) -> dict[str, Any]:
    """A COMPLETED BENCHMARK step of ListInferenceRecommendationsJobSteps for a measured item."""
    benchmark = {key: item[key] for key in ("Metrics", "EndpointConfiguration")}
    return {
        "StepType": "BENCHMARK",
        "JobName": JOB,
        "Status": "COMPLETED",
        "InferenceBenchmark": {**benchmark, "ModelConfiguration": {}},
    }


def answer(status: str) -> dict[str, Any]:
    """DescribeInferenceRecommendationsJob of the job in `status` (no InferenceRecommendations: not
    COMPLETED)."""
    job = {key: value for key, value in described(status=status).items() if key != "InferenceRecommendations"}
    return {
        **job,
        "JobArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/{JOB}",
        "RoleArn": ROLE_ARN,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
        "InputConfig": {
            "ModelName": "model-ranker",
            "EndpointConfigurations": [{"InstanceType": instance_type} for instance_type in PLANNED],
        },
    }


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def running_job() -> RecommenderJob:
    """The job as "Poll recommender job" leaves it when its deadline has passed."""
    item = MoveToConfirm(
        finding=finding(), plan_key="plans/run/plan.json", hourly_usd={"ml.c5.2xlarge": 0.408}
    )
    return RecommenderJob(
        item=item,
        baseline=baseline(),
        job_name=JOB,
        status="IN_PROGRESS",
        deadline=NOW - timedelta(minutes=1),
        wait_seconds=300,
        deadline_passed=True,
    )


def expect_describe(stub: Stubber, status: str) -> None:
    stub.add_response("describe_inference_recommendations_job", answer(status), {"JobName": JOB})


def expect_steps(stub: Stubber, status: str, steps: list[dict[str, Any]]) -> None:
    params = {"JobName": JOB, "Status": status, "StepType": "BENCHMARK"}
    stub.add_response("list_inference_recommendations_job_steps", {"Steps": steps}, params)


def test_a_job_stopped_at_its_deadline_reports_what_it_measured_and_stays_unconfirmed(stub: Stubber) -> None:
    """GIVEN a job past its deadline that had benchmarked ml.c5.xlarge of its three configurations
    WHEN "stop" runs, then "poll" (STOPPING, then STOPPED) and "finish"
    THEN StopInferenceRecommendationsJob is called once, the job goes back to waiting (not finished, not
    stopped again), finishes once STOPPED, and the confirmation is STOPPED with the measured option,
    nothing chosen, the reason naming what was measured; the finding is blocked "unconfirmed: <reason>",
    its target and savings as the analysis left them."""
    stub.add_response("stop_inference_recommendations_job", {}, {"JobName": JOB})
    expect_describe(stub, "STOPPING")
    expect_describe(stub, "STOPPED")
    expect_describe(stub, "STOPPED")  # "finish"
    expect_steps(stub, "FAILED", [])
    expect_steps(stub, "COMPLETED", [finished_step(XLARGE)])

    stopping = workflow.stop(stub.client, running_job())  # type: ignore[arg-type]
    polled = [workflow.poll(stub.client, stopping, settings=SETTINGS, now=NOW)]  # type: ignore[arg-type]
    polled.append(workflow.poll(stub.client, polled[0], settings=SETTINGS, now=NOW))  # type: ignore[arg-type]
    verdict = workflow.finish(stub.client, polled[-1])  # type: ignore[arg-type]

    assert (stopping.status, stopping.finished, stopping.deadline_passed) == ("STOPPING", False, False)
    assert [(job.status, job.finished, job.deadline_passed) for job in polled] == [
        ("STOPPING", False, False),
        ("STOPPED", True, False),
    ]
    confirmation = verdict.finding.confirmation
    assert confirmation is not None
    assert (confirmation.status, confirmation.chosen, confirmation.reasons) == (
        "STOPPED",
        None,
        [STOPPED_WHY],
    )
    (option,) = confirmation.options
    assert (option.instance_type, option.model_latency_ms, option.meets) == ("ml.c5.xlarge", 24.0, True)
    assert verdict.finding.blocked_by == [f"unconfirmed: {STOPPED_WHY}"]
    assert (verdict.finding.target, verdict.finding.estimated_monthly_savings_usd) == (
        finding().target,
        finding().estimated_monthly_savings_usd,
    )


def test_a_job_still_stopping_after_the_polls_allowed_is_finished_with_what_there_is(stub: Stubber) -> None:
    """GIVEN a job stopped at its deadline that stays STOPPING
    WHEN it is polled
    THEN it is finished after POLLS_AFTER_STOP polls, never stopped a second time, and "finish" reports
    it STOPPING with the benchmark it had finished."""
    stub.add_response("stop_inference_recommendations_job", {}, {"JobName": JOB})
    for _ in range(workflow.POLLS_AFTER_STOP + 1):  # the polls, then "finish"
        expect_describe(stub, "STOPPING")
    expect_steps(stub, "COMPLETED", [finished_step(XLARGE)])

    job = workflow.stop(stub.client, running_job())  # type: ignore[arg-type]
    polls = 0
    while not job.finished:
        assert not job.deadline_passed
        job = workflow.poll(stub.client, job, settings=SETTINGS, now=NOW)  # type: ignore[arg-type]
        polls += 1
    verdict = workflow.finish(stub.client, job)  # type: ignore[arg-type]

    assert polls == workflow.POLLS_AFTER_STOP
    confirmation = verdict.finding.confirmation
    assert confirmation is not None and confirmation.status == "STOPPING"
    assert confirmation.reasons == [STOPPED_WHY.replace("stopped at its deadline", "is STOPPING")]


def test_a_job_that_no_longer_exists_is_finished_at_once(stub: Stubber) -> None:
    """GIVEN a job past its deadline that IR no longer knows (ResourceNotFound on Stop)
    WHEN "stop" runs
    THEN the job is finished, with nothing to wait for."""
    stub.add_client_error(
        "stop_inference_recommendations_job",
        service_error_code="ResourceNotFound",
        expected_params={"JobName": JOB},
    )
    job = workflow.stop(stub.client, running_job())  # type: ignore[arg-type]
    assert (job.finished, job.deadline_passed, job.stop_polls_left) == (True, False, None)


@pytest.mark.parametrize(
    ("status", "deadline", "why"),
    [
        ("STOPPED", False, f"Inference Recommender job {JOB} was stopped before it completed"),
        ("STOPPED", True, f"Inference Recommender job {JOB} stopped at its deadline"),
        ("FAILED", False, f"Inference Recommender job {JOB} failed: no reason given"),
    ],
)
def test_a_job_that_ended_without_finishing_a_benchmark_says_only_why(
    status: str, deadline: bool, why: str
) -> None:
    """GIVEN a job STOPPED (by someone else, or at its deadline) or FAILED before any benchmark finished
    WHEN its answer is read
    THEN there is no option and the one reason says how it ended."""
    confirmation = confirmation_from(answer(status), baseline(), stopped_at_deadline=deadline)
    assert (confirmation.options, confirmation.chosen, confirmation.reasons) == ([], None, [why])


def test_a_partial_job_names_the_finished_benchmark_that_misses_latency() -> None:
    """GIVEN a job stopped at its deadline whose one finished benchmark (ml.c6g.xlarge) answers at p99
    41 ms where today's p99 is 25 ms
    WHEN its answer is read and the finding confirmed
    THEN the option is reported as missing latency, with the measured reason after why it stopped, and
    the finding stays unconfirmed (never downgraded from a partial job)."""
    slow = measured("ml.c6g.xlarge", latency_ms=41, max_invocations=1_900, cost_per_hour=0.136)
    confirmation = confirmation_from(
        answer("STOPPED"), baseline(), finished_benchmarks=[finished_step(slow)], stopped_at_deadline=True
    )
    after = confirm(finding(), confirmation, prices(ml_c5_2xlarge=0.408, ml_c6g_xlarge=0.136))
    assert confirmation.reasons[1:] == ["ml.c6g.xlarge: p99 41 ms > 30 ms (observed p99 25 ms + 20 %)"]
    assert confirmation.reasons[0].startswith(
        f"Inference Recommender job {JOB} stopped at its deadline after"
    )
    assert after.blocked_by == [f"unconfirmed: {confirmation.reasons[0]}"]
    assert after.confidence == finding().confidence
