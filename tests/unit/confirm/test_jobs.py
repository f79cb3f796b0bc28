"""Inference Recommender jobs at the wire: the exact requests start, reuse, describe, stop and the failed
benchmarks send (botocore Stubber: any other call, or other parameters, fails the test), and how AWS's
refusals become a reason instead of an exception."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from endpoint_optimizer.confirm.jobs import (
    JobNotStarted,
    JobStarted,
    failed_steps,
    start_or_reuse,
    stop,
    within_spend_cap,
)
from tests.conftest import NOW

JOB = "eo-1a2b3c4d5e6f-202611301200-shop-ranker"  # decide.confirm.job.job_name
EARLIER = "eo-1a2b3c4d5e6f-202611271200-shop-ranker"  # the same reuse key, 3 days ago
ROLE = "arn:aws:iam::123456789012:role/endpoint-optimizer-recommender"
PAYLOAD = "s3://artifacts/recommender/shop-ranker/0123456789abcdef.tar.gz"


def request(
    *, instance_types: tuple[str, ...] = ("ml.c5.2xlarge", "ml.c5.xlarge", "ml.c7g.xlarge")
) -> dict[str, Any]:
    return {
        "JobName": JOB,
        "JobType": "Advanced",
        "RoleArn": ROLE,
        "InputConfig": {
            "ModelName": "model-ranker",
            "ContainerConfig": {
                "Domain": "MACHINE_LEARNING",
                "Framework": "XGBOOST",
                "FrameworkVersion": "1.7-1",
                "PayloadConfig": {"SamplePayloadUrl": PAYLOAD, "SupportedContentTypes": ["text/csv"]},
            },
            "EndpointConfigurations": [{"InstanceType": item} for item in instance_types],
        },
    }


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_listing(stub: Stubber, jobs: list[dict[str, Any]]) -> None:
    stub.add_response(
        "list_inference_recommendations_jobs",
        {"InferenceRecommendationsJobs": jobs},
        {
            "NameContains": "eo-1a2b3c4d5e6f",
            "CreationTimeAfter": NOW - timedelta(days=30),
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "ModelNameEquals": "model-ranker",
            "MaxResults": 100,
        },
    )


def summary(name: str, status: str) -> dict[str, Any]:
    return {
        "JobName": name,
        "JobDescription": "",
        "JobType": "Advanced",
        "JobArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/{name}",
        "Status": status,
        "CreationTime": NOW - timedelta(days=3),
        "RoleArn": ROLE,
        "LastModifiedTime": NOW - timedelta(days=3),
    }


def described(name: str, status: str, job: dict[str, Any]) -> dict[str, Any]:
    return {**summary(name, status), "InputConfig": job["InputConfig"]}


def test_a_new_request_with_no_recent_job_starts_one_under_its_own_name(stub: Stubber) -> None:
    """GIVEN no job for the model in the reuse window WHEN start_or_reuse runs
    THEN it lists the model's recent jobs, then sends the request unchanged, and says it started it."""
    job = request()
    expect_listing(stub, [])
    stub.add_response(
        "create_inference_recommendations_job", {"JobArn": f"arn:aws:sagemaker:::job/{JOB}"}, job
    )
    started = start_or_reuse(stub.client, job, now=NOW, reuse_days=30)  # type: ignore[arg-type]
    assert started == JobStarted(JOB, reused=False)


def test_a_completed_job_for_the_same_model_and_candidates_is_reused_not_rerun(stub: Stubber) -> None:
    """GIVEN a COMPLETED job 3 days old under the same reuse key, with the same model and candidates
    WHEN start_or_reuse runs with a 30-day reuse window
    THEN it describes that job and reuses it: no CreateInferenceRecommendationsJob is sent."""
    job = request()
    expect_listing(stub, [summary(EARLIER, "COMPLETED")])
    stub.add_response(
        "describe_inference_recommendations_job", described(EARLIER, "COMPLETED", job), {"JobName": EARLIER}
    )
    started = start_or_reuse(stub.client, job, now=NOW, reuse_days=30)  # type: ignore[arg-type]
    assert started == JobStarted(EARLIER, reused=True)


def test_a_job_for_other_candidates_or_a_failed_one_is_not_reused(stub: Stubber) -> None:
    """GIVEN a FAILED job under the same key, and a completed one that benchmarked other instance types
    WHEN start_or_reuse runs
    THEN neither is reused (the failed one is not even described): the request is sent as it is."""
    job = request()
    other = request(instance_types=("ml.c5.2xlarge", "ml.m5.large"))
    expect_listing(stub, [summary(EARLIER, "FAILED"), summary(EARLIER, "COMPLETED")])
    stub.add_response(
        "describe_inference_recommendations_job", described(EARLIER, "COMPLETED", other), {"JobName": EARLIER}
    )
    stub.add_response(
        "create_inference_recommendations_job", {"JobArn": f"arn:aws:sagemaker:::job/{JOB}"}, job
    )
    started = start_or_reuse(stub.client, job, now=NOW, reuse_days=30)  # type: ignore[arg-type]
    assert started == JobStarted(JOB, reused=False)


def test_a_name_taken_by_the_same_benchmark_started_this_minute_is_carried_on_with(stub: Stubber) -> None:
    """GIVEN another run started the same job (same deterministic name: same endpoint, model, candidates
    and minute) a moment ago
    WHEN this run's create answers ResourceInUse
    THEN the job of that name is described and, being for the same model and configurations (listed in
    another order), this run carries on with it: started, reused; no second job, no other name."""
    job = request()
    theirs = request(instance_types=("ml.c7g.xlarge", "ml.c5.2xlarge", "ml.c5.xlarge"))
    stub.add_client_error(
        "create_inference_recommendations_job",
        service_error_code="ResourceInUse",
        service_message=f"Job {JOB} already exists.",
        expected_params=job,
    )
    stub.add_response(
        "describe_inference_recommendations_job", described(JOB, "PENDING", theirs), {"JobName": JOB}
    )
    assert start_or_reuse(stub.client, job, now=NOW, reuse_days=0) == JobStarted(JOB, reused=True)  # type: ignore[arg-type]


def test_a_name_taken_by_a_job_for_other_configurations_is_not_started_with_awss_reason(
    stub: Stubber,
) -> None:
    """GIVEN a job of the same name that benchmarks other configurations (not this request's)
    WHEN the create answers ResourceInUse
    THEN it is not taken for this one: JobNotStarted, carrying AWS's code and message."""
    job = request()
    stub.add_client_error(
        "create_inference_recommendations_job",
        service_error_code="ResourceInUse",
        service_message=f"Job {JOB} already exists.",
        expected_params=job,
    )
    stub.add_response(
        "describe_inference_recommendations_job",
        described(JOB, "COMPLETED", request(instance_types=("ml.m5.large",))),
        {"JobName": JOB},
    )
    outcome = start_or_reuse(stub.client, job, now=NOW, reuse_days=0)  # type: ignore[arg-type]
    assert isinstance(outcome, JobNotStarted)
    assert f"ResourceInUse: Job {JOB} already exists." in outcome.reason


def test_resource_limit_exceeded_is_a_job_not_started_with_awss_reason(stub: Stubber) -> None:
    """GIVEN the account's endpoint quota is reached WHEN the job is created
    THEN AWS's ResourceLimitExceeded becomes JobNotStarted carrying its code and message (no exception)."""
    job = request()
    expect_listing(stub, [])
    stub.add_client_error(
        "create_inference_recommendations_job",
        service_error_code="ResourceLimitExceeded",
        service_message="The account-level service limit 'ml.c7g.xlarge for endpoint usage' is 0 Instances.",
        expected_params=job,
    )
    outcome = start_or_reuse(stub.client, job, now=NOW, reuse_days=30)  # type: ignore[arg-type]
    assert isinstance(outcome, JobNotStarted)
    assert "ResourceLimitExceeded" in outcome.reason and "ml.c7g.xlarge for endpoint usage" in outcome.reason


def test_other_aws_errors_reach_the_caller(stub: Stubber) -> None:
    """GIVEN the caller lacks iam:PassRole on the job role WHEN the job is created
    THEN the AccessDenied error is raised (a misconfigured stack is not a benchmark result)."""
    job = request()
    expect_listing(stub, [])
    stub.add_client_error(
        "create_inference_recommendations_job",
        service_error_code="AccessDeniedException",
        expected_params=job,
    )
    with pytest.raises(ClientError):
        start_or_reuse(stub.client, job, now=NOW, reuse_days=30)  # type: ignore[arg-type]


def test_a_zero_reuse_window_never_lists_and_always_starts(stub: Stubber) -> None:
    """GIVEN RecommenderReuseDays 0 WHEN start_or_reuse runs THEN the only call is the create."""
    job = request()
    stub.add_response("create_inference_recommendations_job", {"JobArn": "arn:aws:sagemaker:::job/x"}, job)
    assert start_or_reuse(stub.client, job, now=NOW, reuse_days=0) == JobStarted(JOB, reused=False)  # type: ignore[arg-type]


def test_stop_sends_the_job_name_and_a_vanished_job_is_not_an_error(stub: Stubber) -> None:
    """GIVEN a job past its deadline, then one that no longer exists WHEN each is stopped
    THEN StopInferenceRecommendationsJob names the job; ResourceNotFound answers False."""
    stub.add_response("stop_inference_recommendations_job", {}, {"JobName": JOB})
    stub.add_client_error(
        "stop_inference_recommendations_job",
        service_error_code="ResourceNotFound",
        expected_params={"JobName": "gone"},
    )
    assert stop(stub.client, JOB) is True  # type: ignore[arg-type]
    assert stop(stub.client, "gone") is False  # type: ignore[arg-type]


def test_failed_steps_are_the_jobs_failed_benchmark_steps(stub: Stubber) -> None:
    """GIVEN a job whose Graviton benchmark failed WHEN its failed steps are read
    THEN ListInferenceRecommendationsJobSteps is asked for FAILED BENCHMARK steps and they are returned
    as AWS gave them (confirmation_from names each with its FailureReason)."""
    step = {
        "StepType": "BENCHMARK",
        "JobName": JOB,
        "Status": "FAILED",
        "InferenceBenchmark": {
            "EndpointConfiguration": {
                "EndpointName": "b1",
                "VariantName": "AllTraffic",
                "InstanceType": "ml.c7g.xlarge",
            },
            "ModelConfiguration": {},
            "FailureReason": "exec format error: the image is x86_64 only",
        },
    }
    stub.add_response(
        "list_inference_recommendations_job_steps",
        {"Steps": [step]},
        {"JobName": JOB, "Status": "FAILED", "StepType": "BENCHMARK"},
    )
    assert failed_steps(stub.client, JOB) == [step]  # type: ignore[arg-type]


def test_the_spend_cap_admits_jobs_in_order_and_defers_the_rest_with_the_reason() -> None:
    """GIVEN three jobs estimated at $4, $5 and $2 and an $8 cap
    WHEN the cap is applied in that order
    THEN the first and third start ($6), the second waits, and its reason names its cost and the cap."""
    decision = within_spend_cap([("a", 4.0), ("b", 5.0), ("c", 2.0)], 8.0)
    assert decision.admitted == ["a", "c"]
    assert list(decision.deferred) == ["b"]
    assert (
        "$5.00" in decision.deferred["b"] and "$8.00 cap (MaxRecommenderSpendUSD)" in decision.deferred["b"]
    )
    assert decision.estimated_usd == 6.0
