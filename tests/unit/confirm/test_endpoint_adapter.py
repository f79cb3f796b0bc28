"""Confirming one endpoint's move at the wire: the exact requests `read_subject` and `start_confirmation`
send, in order across SageMaker, CloudWatch and S3 (botocore Stubber: any other call, or other
parameters, fails the test; each request also passes AWS's own validation of the botocore model), and
how a reusable job, AWS's quota, an unknown image and the model's instant recommendations change them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.stub import Stubber

from emulated_aws.botocore_validation import RequestRecorder
from endpoint_optimizer.confirm.endpoint import Started, read_subject, start_confirmation
from endpoint_optimizer.decide.confirm.candidates import Candidate
from endpoint_optimizer.decide.confirm.job import job_name, reuse_key
from endpoint_optimizer.models import Action, Baseline, Confirmation, Finding
from tests.conftest import NOW
from tests.unit.decide.confirm_samples import PYTORCH_X86, ROLE_ARN, finding

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

ENDPOINT = "ranker"  # confirm_samples.finding's endpoint: one variant AllTraffic, 1 x ml.c5.2xlarge
ARN = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"
CONFIG = "ranker-config"
MODEL = "ranker-model"
VARIANT = "AllTraffic"
TAGGED_PAYLOAD = "s3://ranker-payloads/requests.tar.gz"
PAYLOAD_TAGS = {
    "endpoint-optimizer:sample-payload": TAGGED_PAYLOAD,
    "endpoint-optimizer:sample-payload-content-type": "text/csv",
}
IN_HOUSE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/in-house-ranker:7"
LOOKBACK_DAYS = 30
REUSE_DAYS = 30
ARTIFACTS = "endpoint-optimizer-artifacts"
C5_SIZES = ("ml.c5.2xlarge", "ml.c5.xlarge", "ml.c5.large")  # today's type, then the smaller c5 sizes
OBSERVED = Baseline(
    instance_type="ml.c5.2xlarge",
    instance_count=1,
    observed_p99_latency_ms=25.0,
    observed_peak_invocations_per_minute=1_000.0,
)


@dataclass(frozen=True)
class Wire:
    """The three clients start_confirmation takes, each behind a Stubber, and every request in order."""

    sagemaker: Stubber
    cloudwatch: Stubber
    s3: Stubber
    recorder: RequestRecorder

    def operations(self) -> list[str]:
        return [f"{r.service}:{r.operation}" for r in self.recorder.requests]

    def start(self, move: Finding, *, reuse_days: int = REUSE_DAYS) -> Started | Confirmation:
        return start_confirmation(
            cast("SageMakerClient", self.sagemaker.client),
            cast("CloudWatchClient", self.cloudwatch.client),
            cast("S3Client", self.s3.client),
            move,
            role_arn=ROLE_ARN,
            now=NOW,
            lookback_days=LOOKBACK_DAYS,
            reuse_days=reuse_days,
            bucket=ARTIFACTS,
        )


@pytest.fixture
def wire() -> Iterator[Wire]:
    recorder = RequestRecorder()
    sagemaker, cloudwatch, s3 = (
        Stubber(boto3.client(name, region_name="us-east-1")) for name in ("sagemaker", "cloudwatch", "s3")
    )
    for stub in (sagemaker, cloudwatch, s3):
        recorder.attach(stub.client)
        stub.activate()
    yield Wire(sagemaker, cloudwatch, s3, recorder)
    for stub in (sagemaker, cloudwatch, s3):
        stub.deactivate()
        stub.assert_no_pending_responses()
    recorder.assert_all_valid()


# ---- the answers AWS gives, and the requests expected -------------------------------------------------
def expect_baseline(wire: Wire, *, p99_us: float = 25_000.0, peak: float = 1_000.0) -> None:
    """CloudWatch: p99 ModelLatency over the look-back in one period, Invocations per minute over 14 days."""
    dimensions = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": VARIANT}]
    for query_id, metric, stat, period, days, value in (
        ("latency_p99", "ModelLatency", "p99", LOOKBACK_DAYS * 86_400, LOOKBACK_DAYS, p99_us),
        ("invocations_per_minute", "Invocations", "Sum", 60, 14, peak),
    ):
        wire.cloudwatch.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": query_id, "Values": [value], "StatusCode": "Complete"}]},
            {
                "MetricDataQueries": [
                    {
                        "Id": query_id,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/SageMaker",
                                "MetricName": metric,
                                "Dimensions": dimensions,
                            },
                            "Period": period,
                            "Stat": stat,
                        },
                        "ReturnData": True,
                    }
                ],
                "StartTime": NOW - timedelta(days=days),
                "EndTime": NOW,
                "ScanBy": "TimestampAscending",
                "MaxDatapoints": 100_800,
            },
        )


def expect_subject(
    wire: Wire,
    *,
    tags: dict[str, str],
    image: str = PYTORCH_X86,
    capture: bool = False,
    instant: tuple[str, ...] | None = None,
) -> None:
    """SageMaker: DescribeEndpoint, ListTags, DescribeEndpointConfig, DescribeModel, in that order."""
    endpoint: dict[str, Any] = {
        "EndpointName": ENDPOINT,
        "EndpointArn": ARN,
        "EndpointConfigName": CONFIG,
        "ProductionVariants": [{"VariantName": VARIANT, "DeployedImages": [{"SpecifiedImage": image}]}],
        "EndpointStatus": "InService",
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    if capture:
        endpoint["DataCaptureConfig"] = {
            "EnableCapture": True,
            "CaptureStatus": "Started",
            "CurrentSamplingPercentage": 10,
            "DestinationS3Uri": "s3://capture-bucket/datacapture",
            "KmsKeyId": "",
        }
    wire.sagemaker.add_response("describe_endpoint", endpoint, {"EndpointName": ENDPOINT})
    wire.sagemaker.add_response(
        "list_tags", {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}, {"ResourceArn": ARN}
    )
    wire.sagemaker.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": CONFIG,
            "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{CONFIG}",
            "ProductionVariants": [
                {"VariantName": VARIANT, "ModelName": MODEL, "InstanceType": "ml.c5.2xlarge"}
            ],
            "CreationTime": NOW,
        },
        {"EndpointConfigName": CONFIG},
    )
    model: dict[str, Any] = {
        "ModelName": MODEL,
        "ModelArn": f"arn:aws:sagemaker:us-east-1:123456789012:model/{MODEL}",
        "PrimaryContainer": {"Image": image},
        "CreationTime": NOW,
    }
    if instant is not None:
        model["DeploymentRecommendation"] = {
            "RecommendationStatus": "COMPLETED",
            "RealTimeInferenceRecommendations": [
                {"RecommendationId": f"instant-{item}", "InstanceType": item} for item in instant
            ],
        }
    wire.sagemaker.add_response("describe_model", model, {"ModelName": MODEL})


def name_for(instance_types: tuple[str, ...]) -> str:
    """The job name decide.confirm.job gives this endpoint, model and candidates at NOW."""
    candidates = [Candidate(instance_type=item) for item in instance_types]
    return job_name(ENDPOINT, reuse_key(ENDPOINT, MODEL, candidates), NOW)


def configurations(instance_types: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"InstanceType": item} for item in instance_types]


def expect_listing(wire: Wire, name: str, jobs: list[dict[str, Any]]) -> None:
    """ListInferenceRecommendationsJobs: this model's jobs under the name's reuse key, newest first."""
    wire.sagemaker.add_response(
        "list_inference_recommendations_jobs",
        {"InferenceRecommendationsJobs": jobs},
        {
            "NameContains": name[: len("eo-") + 12],  # "eo-<reuse key>"
            "CreationTimeAfter": NOW - timedelta(days=REUSE_DAYS),
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "ModelNameEquals": MODEL,
            "MaxResults": 100,
        },
    )


def expected_request(name: str, instance_types: tuple[str, ...]) -> dict[str, Any]:
    """The CreateInferenceRecommendationsJob request for a 25 ms p99 and a 1,000 a minute peak: the model
    by name, PyTorch 2.5.1 from the image table, the tagged payload and content type, a PHASES ramp from
    1 user, the stopping conditions at 2 x 1,250 invocations and 25 ms x 1.2, one batch of tests."""
    tests = len(instance_types)
    return {
        "JobName": name,
        "JobType": "Advanced",
        "RoleArn": ROLE_ARN,
        "JobDescription": f"endpoint-optimizer: benchmark the candidates for {ENDPOINT}",
        "InputConfig": {
            "ModelName": MODEL,
            "ContainerConfig": {
                "Domain": "MACHINE_LEARNING",
                "Framework": "PYTORCH",
                "Task": "OTHER",
                "PayloadConfig": {"SamplePayloadUrl": TAGGED_PAYLOAD, "SupportedContentTypes": ["text/csv"]},
                "FrameworkVersion": "2.5.1",
            },
            "EndpointConfigurations": configurations(instance_types),
            "TrafficPattern": {
                "TrafficType": "PHASES",
                "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 600}],
            },
            "ResourceLimit": {"MaxNumberOfTests": tests, "MaxParallelOfTests": min(tests, 3)},
            "JobDurationInSeconds": 600 + 900,  # one phase and one endpoint's setup
        },
        "StoppingConditions": {
            "MaxInvocations": 2_500,
            "ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 30}],
        },
    }


SUBJECT_CALLS = [
    "sagemaker:DescribeEndpoint",
    "sagemaker:ListTags",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
]
BASELINE_CALLS = ["cloudwatch:GetMetricData", "cloudwatch:GetMetricData"]


# ---- read_subject ----------------------------------------------------------------------------------------
def test_the_subject_is_the_named_variants_model_with_the_image_its_model_runs(wire: Wire) -> None:
    """GIVEN an endpoint whose config runs two variants, 'blue' on model-blue and 'green' on model-green,
    DescribeEndpoint reporting no deployed image for 'green' and no instant recommendation for its model
    WHEN the subject of 'green' is read
    THEN DescribeEndpoint, ListTags (the endpoint's ARN), DescribeEndpointConfig (the endpoint's config)
    and DescribeModel (model-green) are sent in that order, and the subject is model-green with the
    image of its PrimaryContainer, the endpoint's tags and no instant types."""
    green_image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
    wire.sagemaker.add_response(
        "describe_endpoint",
        {
            "EndpointName": ENDPOINT,
            "EndpointArn": ARN,
            "EndpointConfigName": "ranker-config-v2",
            "ProductionVariants": [
                {"VariantName": "blue", "DeployedImages": [{"SpecifiedImage": PYTORCH_X86}]},
                {"VariantName": "green"},
            ],
            "EndpointStatus": "InService",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        },
        {"EndpointName": ENDPOINT},
    )
    wire.sagemaker.add_response(
        "list_tags", {"Tags": [{"Key": "team", "Value": "search"}]}, {"ResourceArn": ARN}
    )
    wire.sagemaker.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "ranker-config-v2",
            "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/ranker-config-v2",
            "ProductionVariants": [
                {"VariantName": "blue", "ModelName": "model-blue"},
                {"VariantName": "green", "ModelName": "model-green"},
            ],
            "CreationTime": NOW,
        },
        {"EndpointConfigName": "ranker-config-v2"},
    )
    wire.sagemaker.add_response(
        "describe_model",
        {
            "ModelName": "model-green",
            "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/model-green",
            "PrimaryContainer": {"Image": green_image},
            "CreationTime": NOW,
        },
        {"ModelName": "model-green"},
    )

    subject = read_subject(cast("SageMakerClient", wire.sagemaker.client), ENDPOINT, "green")

    assert wire.operations() == SUBJECT_CALLS
    assert (subject.model_name, subject.image, subject.tags) == (
        "model-green",
        green_image,
        {"team": "search"},
    )
    assert subject.instant_types == ()


# ---- start_confirmation ------------------------------------------------------------------------------------
def test_a_rightsize_with_a_tagged_payload_and_no_recent_job_starts_the_expected_job(wire: Wire) -> None:
    """GIVEN a rightsize of 1 x ml.c5.2xlarge running PyTorch 2.5.1, tagged with its sample payload (CSV),
    observed at p99 25,000 us and a busiest minute of 1,000 invocations, and no recent job of its model
    WHEN its confirmation starts
    THEN CloudWatch is read for the baseline, then DescribeEndpoint, ListTags, DescribeEndpointConfig and
    DescribeModel, ListInferenceRecommendationsJobs for a reusable job, and one
    CreateInferenceRecommendationsJob for the model on ml.c5.2xlarge, ml.c5.xlarge and ml.c5.large with
    the tagged payload; nothing is read or written in S3 (the s3 Stubber has no answer); the job runs
    until its duration and a 30 minute margin have passed."""
    name = name_for(C5_SIZES)
    expect_baseline(wire)
    expect_subject(wire, tags=PAYLOAD_TAGS)
    expect_listing(wire, name, [])
    request = expected_request(name, C5_SIZES)
    wire.sagemaker.add_response(
        "create_inference_recommendations_job",
        {"JobArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/{name}"},
        request,
    )

    started = wire.start(finding(Action.RIGHTSIZE))

    assert wire.operations() == [
        *BASELINE_CALLS,
        *SUBJECT_CALLS,
        "sagemaker:ListInferenceRecommendationsJobs",
        "sagemaker:CreateInferenceRecommendationsJob",
    ]
    assert name.startswith("eo-") and name.endswith(f"-{NOW:%Y%m%d%H%M}-{ENDPOINT}")
    assert started == Started(
        name,
        reused=False,
        baseline=OBSERVED,
        deadline=NOW + timedelta(seconds=1_500 + 1_800),
        request=request,
    )


def test_a_completed_job_for_the_same_model_and_candidates_is_reused_and_nothing_is_created(
    wire: Wire,
) -> None:
    """GIVEN a rightsize whose endpoint has Data Capture on and no payload tag, and a COMPLETED job of 3 days
    ago for the same model on the same three candidates
    WHEN its confirmation starts
    THEN that job is described and carried on with (reused, no deadline, no request): no
    CreateInferenceRecommendationsJob, and no payload is looked for (the s3 Stubber has no answer: the
    capture bucket is never listed, nothing is packed)."""
    name = name_for(C5_SIZES)
    earlier = name.replace(f"-{NOW:%Y%m%d%H%M}-", f"-{NOW - timedelta(days=3):%Y%m%d%H%M}-")
    expect_baseline(wire)
    expect_subject(wire, tags={}, capture=True)
    job_arn = f"arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/{earlier}"
    expect_listing(
        wire,
        name,
        [
            {
                "JobName": earlier,
                "JobDescription": "",
                "JobType": "Advanced",
                "JobArn": job_arn,
                "Status": "COMPLETED",
                "CreationTime": NOW - timedelta(days=3),
                "RoleArn": ROLE_ARN,
                "LastModifiedTime": NOW - timedelta(days=3),
            }
        ],
    )
    wire.sagemaker.add_response(
        "describe_inference_recommendations_job",
        {
            "JobName": earlier,
            "JobType": "Advanced",
            "JobArn": job_arn,
            "RoleArn": ROLE_ARN,
            "Status": "COMPLETED",
            "CreationTime": NOW - timedelta(days=3),
            "LastModifiedTime": NOW - timedelta(days=3),
            "InputConfig": {"ModelName": MODEL, "EndpointConfigurations": configurations(C5_SIZES[::-1])},
        },
        {"JobName": earlier},
    )

    started = wire.start(finding(Action.RIGHTSIZE))

    assert wire.operations() == [
        *BASELINE_CALLS,
        *SUBJECT_CALLS,
        "sagemaker:ListInferenceRecommendationsJobs",
        "sagemaker:DescribeInferenceRecommendationsJob",
    ]
    assert started == Started(earlier, reused=True, baseline=OBSERVED)


def test_the_accounts_quota_refusing_the_job_is_not_started_with_the_limit_named(wire: Wire) -> None:
    """GIVEN a rightsize with a tagged payload and no recent job, and an account whose endpoint quota
    Inference Recommender would exceed
    WHEN its confirmation starts and CreateInferenceRecommendationsJob fails with ResourceLimitExceeded
    THEN the move is NOT_STARTED, without a job name, with its baseline, and its one reason names the
    error and quotes AWS's message; nothing else is sent (no benchmark model to release: none was made)."""
    name = name_for(C5_SIZES)
    expect_baseline(wire)
    expect_subject(wire, tags=PAYLOAD_TAGS)
    expect_listing(wire, name, [])
    message = "The account-level service limit 'ml.c5.large for endpoint usage' is 0 Instances"
    wire.sagemaker.add_client_error(
        "create_inference_recommendations_job",
        service_error_code="ResourceLimitExceeded",
        service_message=message,
        http_status_code=400,
        expected_params=expected_request(name, C5_SIZES),
    )

    outcome = wire.start(finding(Action.RIGHTSIZE))

    assert isinstance(outcome, Confirmation)
    assert (outcome.status, outcome.job_name, outcome.baseline) == ("NOT_STARTED", None, OBSERVED)
    assert outcome.reasons == [
        f"Inference Recommender did not start the job: ResourceLimitExceeded: {message}"
    ]
    assert wire.operations() == [
        *BASELINE_CALLS,
        *SUBJECT_CALLS,
        "sagemaker:ListInferenceRecommendationsJobs",
        "sagemaker:CreateInferenceRecommendationsJob",
    ]


def test_an_image_of_unknown_framework_is_not_started_with_the_how_to_and_no_job(wire: Wire) -> None:
    """GIVEN a rightsize of an endpoint running an in-house image outside the table of known images, with
    a payload tag but no endpoint-optimizer:framework tag
    WHEN its confirmation starts
    THEN after the baseline and the subject nothing more is sent (no listing, no create, no S3), and the
    move is NOT_STARTED with one reason that names the image and the tags to add."""
    expect_baseline(wire)
    expect_subject(wire, tags=PAYLOAD_TAGS, image=IN_HOUSE_IMAGE)

    outcome = wire.start(finding(Action.RIGHTSIZE, image=IN_HOUSE_IMAGE))

    assert wire.operations() == [*BASELINE_CALLS, *SUBJECT_CALLS]
    assert isinstance(outcome, Confirmation)
    assert (outcome.status, outcome.job_name) == ("NOT_STARTED", None)
    (reason,) = outcome.reasons
    assert IN_HOUSE_IMAGE in reason
    assert "endpoint-optimizer:framework=" in reason and "endpoint-optimizer:framework-version=" in reason


def test_the_models_completed_instant_recommendations_narrow_the_benchmarked_candidates(wire: Wire) -> None:
    """GIVEN a rightsize of ml.c5.2xlarge whose model's instant recommendations are COMPLETED and name
    ml.c5.xlarge only (and an instance type the rung does not offer)
    WHEN its confirmation starts
    THEN the job (its name, its reuse lookup and its request) benchmarks today's ml.c5.2xlarge and
    ml.c5.xlarge only: ml.c5.large is left out, and the job is cheaper by one test."""
    narrowed = ("ml.c5.2xlarge", "ml.c5.xlarge")
    name = name_for(narrowed)
    assert name != name_for(C5_SIZES)  # other candidates, another job
    expect_baseline(wire)
    expect_subject(wire, tags=PAYLOAD_TAGS, instant=("ml.c5.xlarge", "ml.g5.xlarge"))
    expect_listing(wire, name, [])
    request = expected_request(name, narrowed)
    wire.sagemaker.add_response(
        "create_inference_recommendations_job",
        {"JobArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/{name}"},
        request,
    )

    started = wire.start(finding(Action.RIGHTSIZE))

    assert isinstance(started, Started)
    assert started.request["InputConfig"]["EndpointConfigurations"] == configurations(narrowed)
    assert (started.job_name, started.reused) == (name, False)
