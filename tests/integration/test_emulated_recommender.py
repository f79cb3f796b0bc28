"""The emulated SageMaker Inference Recommender and the strict request validator: what the product's
recommender loop (issue 9) relies on them to do. Tests of the harness itself (marked `harness`), but for
one fast in-process smoke test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from emulated_aws import moto_patches
from emulated_aws.botocore_validation import RequestRecorder, validate_request, validation_message
from emulated_aws.recommender import RecommenderEmulator, emulator
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.decide.signals import instance_specs

harness = pytest.mark.harness

MODEL = "churn-xgb"
ROLE = "arn:aws:iam::123456789012:role/inference-recommender"
PAYLOAD_BUCKET = "ir-payloads"
PAYLOAD_KEY = "churn/sample.tar.gz"
SIZES = ("ml.c5.large", "ml.c5.xlarge", "ml.c5.2xlarge", "ml.c5.4xlarge")
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
INSTANCE_TYPE_SHAPE: Any = SAGEMAKER.shape_for("ProductionVariantInstanceType")


def advanced_job(
    name: str, configurations: list[dict[str, Any]], model: str = MODEL, **extra: Any
) -> dict[str, Any]:
    """An Advanced CreateInferenceRecommendationsJob request as the product sends it."""
    request: dict[str, Any] = {
        "JobName": name,
        "JobType": "Advanced",
        "RoleArn": ROLE,
        "InputConfig": {
            "ModelName": model,
            "JobDurationInSeconds": 7200,
            "ContainerConfig": {
                "Domain": "MACHINE_LEARNING",
                "Framework": "XGBOOST",
                "FrameworkVersion": "1.7-1",
                "PayloadConfig": {
                    "SamplePayloadUrl": f"s3://{PAYLOAD_BUCKET}/{PAYLOAD_KEY}",
                    "SupportedContentTypes": ["text/csv"],
                },
            },
            "EndpointConfigurations": configurations,
            "TrafficPattern": {
                "TrafficType": "PHASES",
                "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}],
            },
            "ResourceLimit": {"MaxNumberOfTests": 10, "MaxParallelOfTests": 2},
        },
        "StoppingConditions": {
            "MaxInvocations": 1_000_000,
            "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 500}],
        },
    }
    request.update(extra)
    return request


def instances(*types: str) -> list[dict[str, Any]]:
    return [{"InstanceType": instance_type} for instance_type in types]


def seed_model_and_payload(sagemaker: Any, s3: Any, model: str = MODEL) -> None:
    sagemaker.create_model(
        ModelName=model,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/model",
        PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
    )
    if PAYLOAD_BUCKET not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=PAYLOAD_BUCKET)
        s3.put_object(Bucket=PAYLOAD_BUCKET, Key=PAYLOAD_KEY, Body=b"sample payload archive")


def describe_until_ended(sagemaker: Any, name: str, limit: int = 20) -> tuple[dict[str, Any], list[str]]:
    statuses: list[str] = []
    for _ in range(limit):
        described: dict[str, Any] = sagemaker.describe_inference_recommendations_job(JobName=name)
        statuses.append(described["Status"])
        if described["Status"] in {"COMPLETED", "FAILED", "STOPPED"}:
            return described, statuses
    raise AssertionError(f"job {name} still {statuses[-1]} after {limit} describes")


def by_instance_type(described: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["EndpointConfiguration"]["InstanceType"]: r["Metrics"]
        for r in described["InferenceRecommendations"]
        if "InstanceType" in r["EndpointConfiguration"]
    }


def error_of(call: Any, **params: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    error = raised.value.response["Error"]
    return {"Code": error.get("Code", ""), "Message": error.get("Message", "")}


@pytest.fixture
def recommender(aws: EmulatedAws) -> Iterator[RecommenderEmulator]:
    """A reset emulator with the model and its sample payload in place."""
    aws.reset()
    seed_model_and_payload(aws.client("sagemaker"), aws.client("s3"))
    yield aws.recommender
    aws.recommender.reset()


@pytest.fixture
def sagemaker(aws: EmulatedAws, recommender: RecommenderEmulator) -> Any:
    return aws.client("sagemaker")


@pytest.fixture
def unvalidated_sagemaker(aws: EmulatedAws, recommender: RecommenderEmulator) -> Any:
    """A client that sends what it is given (botocore's own checks off): what the server says is seen."""
    return boto3.session.Session().client(
        "sagemaker",
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


# ---------------------------------------------------------------------------------------------------
# A fast smoke test: in-process mock_aws, no server
# ---------------------------------------------------------------------------------------------------
def test_in_process_mock_aws_runs_a_job_to_completion() -> None:
    """GIVEN moto in-process with the harness patches WHEN an Advanced job is created and described
    THEN it reaches COMPLETED after pending + running describes, one recommendation per configuration."""
    applied_here = not moto_patches.patches_applied()
    with mock_aws():
        if applied_here:
            moto_patches.apply_patches()
        try:
            settings = emulator()
            settings.reset()
            settings.pending_ticks, settings.running_ticks = 0, 1
            endpoint = "https://api.sagemaker.us-east-1.amazonaws.com"  # not the emulator server
            sagemaker = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=endpoint)
            s3 = boto3.client(
                "s3", region_name="us-east-1", endpoint_url="https://s3.us-east-1.amazonaws.com"
            )
            seed_model_and_payload(sagemaker, s3)
            sagemaker.create_inference_recommendations_job(**advanced_job("smoke", instances(*SIZES[:2])))
            described, statuses = describe_until_ended(sagemaker, "smoke")
        finally:
            emulator().reset()
            if applied_here:
                moto_patches.remove_patches()
    assert statuses == ["IN_PROGRESS", "COMPLETED"]
    assert sorted(by_instance_type(described)) == sorted(SIZES[:2])


# ---------------------------------------------------------------------------------------------------
# Lifecycle: the describe-count clock
# ---------------------------------------------------------------------------------------------------
@harness
def test_job_moves_pending_in_progress_completed_as_it_is_described(
    sagemaker: Any, recommender: RecommenderEmulator
) -> None:
    """GIVEN the default clock WHEN a job is described repeatedly THEN it is PENDING for pending_ticks
    describes, IN_PROGRESS for running_ticks, then COMPLETED with one recommendation per configuration,
    every request the test sent valid for AWS."""
    configurations = [*instances(*SIZES), {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}]
    with RequestRecorder.all_clients("sagemaker") as recorder:
        sagemaker.create_inference_recommendations_job(**advanced_job("lifecycle", configurations))
        described, statuses = describe_until_ended(sagemaker, "lifecycle")
    expected = (
        ["PENDING"] * recommender.pending_ticks + ["IN_PROGRESS"] * recommender.running_ticks + ["COMPLETED"]
    )
    assert statuses == expected
    outputs = [r["EndpointConfiguration"] for r in described["InferenceRecommendations"]]
    assert [o.get("InstanceType") for o in outputs[:-1]] == list(SIZES)
    assert outputs[-1]["ServerlessConfig"] == configurations[-1]["ServerlessConfig"]
    assert described["CompletionTime"] >= described["CreationTime"]
    assert len(recorder.of("DescribeInferenceRecommendationsJob")) == len(statuses)
    recorder.assert_all_valid()


@harness
def test_advancing_the_clock_completes_jobs_without_describing_them(
    sagemaker: Any, recommender: RecommenderEmulator
) -> None:
    """GIVEN a new job WHEN the test advances the emulated clock past pending + running THEN List and
    the first Describe already see it COMPLETED."""
    sagemaker.create_inference_recommendations_job(**advanced_job("advanced-clock", instances(SIZES[0])))
    listed = sagemaker.list_inference_recommendations_jobs(NameContains="advanced-clock")
    assert listed["InferenceRecommendationsJobs"][0]["Status"] == "PENDING"
    recommender.advance(recommender.pending_ticks + recommender.running_ticks)
    listed = sagemaker.list_inference_recommendations_jobs(NameContains="advanced-clock")
    assert listed["InferenceRecommendationsJobs"][0]["Status"] == "COMPLETED"
    described = sagemaker.describe_inference_recommendations_job(JobName="advanced-clock")
    assert described["Status"] == "COMPLETED"


# ---------------------------------------------------------------------------------------------------
# The performance model
# ---------------------------------------------------------------------------------------------------
@harness
def test_throughput_rises_and_latency_falls_with_instance_size(
    sagemaker: Any, recommender: RecommenderEmulator
) -> None:
    """GIVEN one model benchmarked on four sizes of one family THEN MaxInvocations strictly rises and
    ModelLatency strictly falls with vCPUs, and the 2-vCPU instance shows the model's profile."""
    profile = recommender.set_profile(MODEL, base_latency_ms=80, base_rpm=900)
    sagemaker.create_inference_recommendations_job(**advanced_job("sizes", instances(*SIZES)))
    metrics = by_instance_type(describe_until_ended(sagemaker, "sizes")[0])
    ordered = sorted(SIZES, key=lambda t: instance_specs()[t].vcpu)
    throughput = [metrics[t]["MaxInvocations"] for t in ordered]
    latency = [metrics[t]["ModelLatency"] for t in ordered]
    assert throughput == sorted(set(throughput))
    assert latency == sorted(set(latency), reverse=True)
    assert instance_specs()[ordered[0]].vcpu == 2
    assert (metrics[ordered[0]]["ModelLatency"], metrics[ordered[0]]["MaxInvocations"]) == (
        profile.base_latency_ms,
        profile.base_rpm,
    )


@harness
def test_graviton_differs_from_x86_of_the_same_size_and_costs_come_from_the_price_book(
    sagemaker: Any, recommender: RecommenderEmulator
) -> None:
    """GIVEN x86 and Graviton instances of 4 vCPUs THEN Graviton is slower by the profile's factors,
    CostPerHour is the bundled price book's and CostPerInference is CostPerHour over an hour's
    invocations."""
    profile = recommender.profile(MODEL)
    pair = ("ml.c5.xlarge", "ml.c6g.xlarge")
    sagemaker.create_inference_recommendations_job(**advanced_job("graviton", instances(*pair)))
    metrics = by_instance_type(describe_until_ended(sagemaker, "graviton")[0])
    x86, arm = metrics[pair[0]], metrics[pair[1]]
    assert arm["ModelLatency"] > x86["ModelLatency"]
    assert arm["MaxInvocations"] == pytest.approx(
        x86["MaxInvocations"] * profile.graviton_throughput_factor, abs=1
    )
    assert x86["CostPerHour"] == bundled_price_book().hourly("us-east-1", pair[0]).usd_per_hour  # type: ignore[union-attr]
    for measured in (x86, arm):
        assert measured["CostPerInference"] == pytest.approx(
            measured["CostPerHour"] / (measured["MaxInvocations"] * 60)
        )


@harness
def test_candidate_above_the_latency_threshold_is_still_reported_and_max_invocations_is_capped(
    sagemaker: Any, recommender: RecommenderEmulator
) -> None:
    """GIVEN a slow model and StoppingConditions MaxInvocations below its capacity THEN the instance over
    the latency threshold still appears (IR reports every benchmark) and MaxInvocations stops at the cap."""
    recommender.set_profile(MODEL, base_latency_ms=900, base_rpm=5000)
    request = advanced_job("threshold", instances(SIZES[0]))
    request["StoppingConditions"]["MaxInvocations"] = 1000
    sagemaker.create_inference_recommendations_job(**request)
    metrics = by_instance_type(describe_until_ended(sagemaker, "threshold")[0])[SIZES[0]]
    threshold = request["StoppingConditions"]["ModelLatencyThresholds"][0]["ValueInMilliseconds"]
    assert metrics["ModelLatency"] > threshold
    assert metrics["MaxInvocations"] == request["StoppingConditions"]["MaxInvocations"]


# ---------------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------------
@harness
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r["InputConfig"].update(EndpointConfigurations=instances(*SIZES * 3)),
            "less than or equal to 10",
        ),
        (
            lambda r: r.update(JobName="has spaces"),
            "at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern",
        ),
        (
            lambda r: r["InputConfig"]["EndpointConfigurations"][0].update(InstanceType="ml.c5.huge"),
            "inputConfig.endpointConfigurations.1.member.instanceType",
        ),
        (
            lambda r: r["InputConfig"]["ContainerConfig"].pop("Domain"),
            "Domain and ContainerConfig.Framework are required",
        ),
        (lambda r: r["InputConfig"].update(JobDurationInSeconds=18_001), "at most 18000"),
        (
            lambda r: r["StoppingConditions"]["ModelLatencyThresholds"][0].update(Percentile="P50"),
            "P95 or P99",
        ),
        (lambda r: r["InputConfig"].update(ModelName="no-such-model"), "Could not find model"),
        (
            lambda r: r["InputConfig"]["ContainerConfig"]["PayloadConfig"].update(
                SamplePayloadUrl=f"s3://{PAYLOAD_BUCKET}/missing.tar.gz"
            ),
            "sample payload",
        ),
        (
            lambda r: r.pop("RoleArn"),
            "Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
        ),
    ],
    ids=[
        "11-configurations",
        "job-name-pattern",
        "instance-type-enum",
        "no-domain",
        "too-long",
        "percentile",
        "no-model",
        "no-payload",
        "no-role",
    ],
)
def test_invalid_request_is_refused_with_a_validation_exception(
    unvalidated_sagemaker: Any, change: Any, expected: str
) -> None:
    """GIVEN a request that breaks the botocore model or a documented rule WHEN it is sent THEN
    ValidationException, worded as AWS words it, and no job exists."""
    request = advanced_job("refused", instances(SIZES[0]))
    change(request)
    error = error_of(unvalidated_sagemaker.create_inference_recommendations_job, **request)
    assert error["Code"] == "ValidationException"
    assert expected in error["Message"]
    assert unvalidated_sagemaker.list_inference_recommendations_jobs()["InferenceRecommendationsJobs"] == []


@harness
def test_a_job_name_in_use_is_refused(sagemaker: Any, recommender: RecommenderEmulator) -> None:
    """GIVEN a job WHEN another is created with its name THEN ResourceInUse."""
    sagemaker.create_inference_recommendations_job(**advanced_job("twice", instances(SIZES[0])))
    error = error_of(
        sagemaker.create_inference_recommendations_job, **advanced_job("twice", instances(SIZES[1]))
    )
    assert error["Code"] == "ResourceInUse"


@harness
def test_more_running_jobs_than_the_limit_is_refused_until_one_ends(
    sagemaker: Any, recommender: RecommenderEmulator
) -> None:
    """GIVEN max_running_jobs running jobs WHEN one more is created THEN ResourceLimitExceeded; once a
    job has ended the same request succeeds."""
    recommender.max_running_jobs = 2
    for number in range(recommender.max_running_jobs):
        sagemaker.create_inference_recommendations_job(**advanced_job(f"limit-{number}", instances(SIZES[0])))
    error = error_of(
        sagemaker.create_inference_recommendations_job, **advanced_job("limit-x", instances(SIZES[0]))
    )
    assert error["Code"] == "ResourceLimitExceeded"
    describe_until_ended(sagemaker, "limit-0")
    sagemaker.create_inference_recommendations_job(**advanced_job("limit-x", instances(SIZES[0])))


# ---------------------------------------------------------------------------------------------------
# Stop, failures, steps
# ---------------------------------------------------------------------------------------------------
@harness
def test_a_held_job_never_completes_and_stops_through_stopping(
    sagemaker: Any, recommender: RecommenderEmulator
) -> None:
    """GIVEN a model whose jobs never complete WHEN the job is described past its run, then stopped
    THEN it stays IN_PROGRESS, goes STOPPING then STOPPED with no recommendations and its steps STOPPED;
    stopping it again is refused."""
    recommender.hold_jobs(MODEL)
    sagemaker.create_inference_recommendations_job(**advanced_job("held", instances(*SIZES[:2])))
    recommender.advance(10 * (recommender.pending_ticks + recommender.running_ticks))
    assert sagemaker.describe_inference_recommendations_job(JobName="held")["Status"] == "IN_PROGRESS"
    sagemaker.stop_inference_recommendations_job(JobName="held")
    described, statuses = describe_until_ended(sagemaker, "held")
    assert statuses == ["STOPPING"] * recommender.stopping_ticks + ["STOPPED"]
    assert "InferenceRecommendations" not in described
    steps = sagemaker.list_inference_recommendations_job_steps(JobName="held")["Steps"]
    assert {step["Status"] for step in steps} == {"STOPPED"}
    assert (
        error_of(sagemaker.stop_inference_recommendations_job, JobName="held")["Code"]
        == "ValidationException"
    )
    assert (
        error_of(sagemaker.stop_inference_recommendations_job, JobName="nope")["Code"] == "ResourceNotFound"
    )


@harness
def test_a_failing_job_ends_failed_with_its_reason(sagemaker: Any, recommender: RecommenderEmulator) -> None:
    """GIVEN fail_jobs for the model THEN the job ends FAILED with that FailureReason, in Describe and List."""
    recommender.fail_jobs(MODEL, reason="Model container failed the ping health check.")
    sagemaker.create_inference_recommendations_job(**advanced_job("fails", instances(SIZES[0])))
    described, _ = describe_until_ended(sagemaker, "fails")
    assert (described["Status"], described["FailureReason"]) == ("FAILED", recommender.job_failures[MODEL])
    listed = sagemaker.list_inference_recommendations_jobs(StatusEquals="FAILED")[
        "InferenceRecommendationsJobs"
    ]
    assert [(job["JobName"], job["FailureReason"]) for job in listed] == [
        ("fails", recommender.job_failures[MODEL])
    ]


@harness
def test_a_failing_benchmark_is_left_out_and_its_step_says_why(
    sagemaker: Any, recommender: RecommenderEmulator
) -> None:
    """GIVEN one configuration's benchmark fails THEN the job COMPLETES with the others and
    ListInferenceRecommendationsJobSteps shows that step FAILED with its reason (Status filter too)."""
    recommender.fail_benchmark(
        MODEL, "ml.c5.xlarge", reason="Endpoint creation failed: insufficient capacity."
    )
    sagemaker.create_inference_recommendations_job(**advanced_job("one-fails", instances(*SIZES[:3])))
    described, _ = describe_until_ended(sagemaker, "one-fails")
    assert described["Status"] == "COMPLETED"
    assert sorted(by_instance_type(described)) == sorted(set(SIZES[:3]) - {"ml.c5.xlarge"})
    failed = sagemaker.list_inference_recommendations_job_steps(JobName="one-fails", Status="FAILED")["Steps"]
    assert [
        (
            s["InferenceBenchmark"]["EndpointConfiguration"]["InstanceType"],
            s["InferenceBenchmark"]["FailureReason"],
        )
        for s in failed
    ] == [("ml.c5.xlarge", recommender.benchmark_failures[MODEL]["ml.c5.xlarge"])]


# ---------------------------------------------------------------------------------------------------
# Listing
# ---------------------------------------------------------------------------------------------------
@harness
def test_list_filters_by_model_and_status_and_pages_with_next_token(
    aws: EmulatedAws, sagemaker: Any, recommender: RecommenderEmulator
) -> None:
    """GIVEN completed and pending jobs of two models WHEN listed with ModelNameEquals and StatusEquals,
    and page by page THEN exactly the matching jobs come back, each once."""
    seed_model_and_payload(sagemaker, aws.client("s3"), model="other-model")
    for number in range(3):
        sagemaker.create_inference_recommendations_job(**advanced_job(f"done-{number}", instances(SIZES[0])))
    recommender.advance(recommender.pending_ticks + recommender.running_ticks)
    sagemaker.create_inference_recommendations_job(**advanced_job("pending", instances(SIZES[0])))
    sagemaker.create_inference_recommendations_job(
        **advanced_job("other", instances(SIZES[0]), model="other-model")
    )

    completed = sagemaker.list_inference_recommendations_jobs(ModelNameEquals=MODEL, StatusEquals="COMPLETED")
    assert sorted(job["JobName"] for job in completed["InferenceRecommendationsJobs"]) == [
        "done-0",
        "done-1",
        "done-2",
    ]

    names: list[str] = []
    kwargs: dict[str, Any] = {"MaxResults": 2, "SortBy": "Name", "SortOrder": "Ascending"}
    while True:
        page = sagemaker.list_inference_recommendations_jobs(**kwargs)
        names += [job["JobName"] for job in page["InferenceRecommendationsJobs"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert names == sorted(["done-0", "done-1", "done-2", "pending", "other"])
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    assert (
        sagemaker.list_inference_recommendations_jobs(CreationTimeBefore=long_ago)[
            "InferenceRecommendationsJobs"
        ]
        == []
    )
    after = sagemaker.list_inference_recommendations_jobs(CreationTimeAfter=long_ago, MaxResults=100)
    assert len(after["InferenceRecommendationsJobs"]) == len(names)
    paginated = sagemaker.get_paginator("list_inference_recommendations_jobs").paginate(
        ModelNameEquals="other-model", PaginationConfig={"PageSize": 1}
    )
    assert [job["ModelName"] for page in paginated for job in page["InferenceRecommendationsJobs"]] == [
        "other-model"
    ]


# ---------------------------------------------------------------------------------------------------
# Under moto's Step Functions interpreter (the product's Wait/Describe/Choice loop)
# ---------------------------------------------------------------------------------------------------
@harness
def test_a_step_functions_wait_loop_polls_the_job_to_completion(
    aws: EmulatedAws, recommender: RecommenderEmulator
) -> None:
    """GIVEN a state machine that creates a job with aws-sdk:sagemaker and loops Wait 0 / Describe /
    Choice WHEN it runs THEN it ends when the emulator says COMPLETED, after pending + running + 1
    describes."""
    job = advanced_job("from-sfn", instances(*SIZES[:2]))
    definition = {
        "StartAt": "Create",
        "States": {
            "Create": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:createInferenceRecommendationsJob",
                "Parameters": job,
                "ResultPath": None,
                "Next": "Wait",
            },
            "Wait": {"Type": "Wait", "Seconds": 0, "Next": "Describe"},
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeInferenceRecommendationsJob",
                "Parameters": {"JobName": job["JobName"]},
                "ResultSelector": {"Status.$": "$.Status"},
                "ResultPath": "$.job",
                "Next": "Done?",
            },
            "Done?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.job.Status", "StringEquals": "COMPLETED", "Next": "Completed"}],
                "Default": "Wait",
            },
            "Completed": {"Type": "Succeed"},
        },
    }
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="ir-loop", definition=json.dumps(definition), roleArn=f"arn:aws:iam::{aws.account_id}:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="ir-loop-1", input="{}")["executionArn"]
    ended = aws.wait_for_execution(execution, timeout_s=30)
    assert ended["status"] == "SUCCEEDED", ended
    (state,) = [j for j in recommender.jobs() if j.name == job["JobName"]]
    assert state.describes == recommender.pending_ticks + recommender.running_ticks + 1


# ---------------------------------------------------------------------------------------------------
# The validator itself
# ---------------------------------------------------------------------------------------------------
@harness
def test_validator_accepts_a_request_aws_accepts() -> None:
    """GIVEN the product's request shape THEN no problems (Unicode tag values through \\p{L} included)."""
    request = advanced_job("valid", instances(*SIZES), Tags=[{"Key": "team", "Value": "données"}])
    assert validate_request(SAGEMAKER, "CreateInferenceRecommendationsJob", request) == []


@harness
def test_validator_reports_what_botocore_skips_and_what_it_checks() -> None:
    """GIVEN max, pattern, enum, required, type and unknown-member breaks THEN one AWS-worded error each."""
    request = advanced_job("x" * 65, instances("ml.c5.huge"))
    request.pop("RoleArn")
    request["InputConfig"]["ResourceLimit"]["MaxParallelOfTests"] = "2"
    request["InputConfig"]["EndpointConfigurations"].append({"ServerlessConfig": {"MemorySizeInMB": 8192}})
    request["Surprise"] = True
    problems = validate_request(SAGEMAKER, "CreateInferenceRecommendationsJob", request)
    assert problems == [
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
        f"Value '{'x' * 65}' at 'jobName' failed to satisfy constraint: Member must have length less than or equal to 64",
        f"Value '{'x' * 65}' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression "
        "pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}",
        "Value 'ml.c5.huge' at 'inputConfig.endpointConfigurations.1.member.instanceType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [" + ", ".join(INSTANCE_TYPE_SHAPE.enum) + "]",
        "Value null at 'inputConfig.endpointConfigurations.2.member.serverlessConfig.maxConcurrency' failed to "
        "satisfy constraint: Member must not be null",
        "Value '8192' at 'inputConfig.endpointConfigurations.2.member.serverlessConfig.memorySizeInMB' failed "
        "to satisfy constraint: Member must have value less than or equal to 6144",
        "Value '2' at 'inputConfig.resourceLimit.maxParallelOfTests' failed to satisfy constraint: Member must be an integer",
        "Unknown parameter 'surprise'",
    ]
    assert validation_message(problems[:1]).startswith("1 validation error detected: Value null")


@harness
def test_recorder_on_a_client_catches_a_request_aws_would_refuse() -> None:
    """GIVEN a recorder attached to a client that skips botocore's checks WHEN code sends a request with
    a too-long description THEN assert_all_valid fails and names it."""
    with mock_aws():
        client = boto3.client("sagemaker", region_name="us-east-1", config=Config(parameter_validation=False))
        recorder = RequestRecorder()
        recorder.attach(client)
        with pytest.raises(ClientError):
            client.describe_model(ModelName="m" * 64)
    assert [r.operation for r in recorder.requests][-1] == "DescribeModel"
    with pytest.raises(AssertionError, match="modelName"):
        recorder.assert_all_valid()
