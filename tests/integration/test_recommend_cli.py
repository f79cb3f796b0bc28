"""`endpoint-optimizer recommend` against the emulated AWS (moto + the emulated Inference Recommender):
an over-provisioned endpoint's rightsize confirmed by a benchmark, the JSON it writes, a second run that
reuses the job, the how-to when there is no payload, and every request it sends checked against the
botocore service model."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from emulated_aws.botocore_validation import RequestRecorder
from emulated_aws.fleet import VariantSpec, create_endpoint, model_artifact_url, put_hourly_metrics
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.cli import main as cli
from endpoint_optimizer.confirm.payload import PAYLOAD_TAG, pack_payload, split_s3_url
from endpoint_optimizer.decide.confirm.candidates import GRAVITON_REALTIME_SIZES

HOURS = 14 * 24
ENDPOINT = "ranker-oversized"
MODEL = f"{ENDPOINT}-alltraffic"  # fleet.create_endpoint names the model <endpoint>-<variant>
ROLE = "arn:aws:iam::123456789012:role/endpoint-optimizer-recommender"
PAYLOAD = "s3://team-payloads/ranker/requests.tar.gz"
OBSERVED_P99_MS = 30.0  # the latency threshold is 36 ms (x 1.2)
PEAK_PER_MINUTE = 400.0  # 500 a minute needed with the 1.25 headroom


def seed(
    aws: EmulatedAws,
    *,
    tags: dict[str, str],
    variant: VariantSpec | None = None,
    cpu: float = 40.0,
    p99_ms: float = OBSERVED_P99_MS,
) -> None:
    """One ml.c5.2xlarge (8 vCPU) at about 5 % CPU (`cpu` summed over the vCPUs, as SageMaker reports
    it) for 14 days with steady traffic: a rightsize; then the last hour's per-minute Invocations (the
    busiest minute PEAK_PER_MINUTE) and ModelLatency (microseconds, published as Values/Counts like
    SageMaker's distributions, p99 `p99_ms`)."""
    aws.reset()
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS)
    create_endpoint(
        aws.client("sagemaker"),
        name=ENDPOINT,
        variants=[variant or VariantSpec(instance_type="ml.c5.2xlarge")],
        tags=tags,
        created_days_ago=30,
        now=now,
    )
    cloudwatch = aws.client("cloudwatch")
    put_hourly_metrics(
        cloudwatch,
        endpoint=ENDPOINT,
        variant="AllTraffic",
        start=start,
        hours=HOURS,
        # one datapoint an hour, which a per-minute read sees as one minute: kept under the peak
        invocations=[300.0] * HOURS,
        cpu=[cpu] * HOURS,
        memory=[20.0] * HOURS,
    )
    dimensions = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "AllTraffic"}]
    minute = now.replace(second=0, microsecond=0)
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": dimensions,
                "Timestamp": minute - timedelta(minutes=m),
                "Value": PEAK_PER_MINUTE if m == 7 else 100.0,
                "Unit": "None",
            }
            for m in range(1, 31)
        ],
    )
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": dimensions,
                "Timestamp": minute - timedelta(minutes=5),
                "Values": [12_000.0, 20_000.0, p99_ms * 1000],
                "Counts": [60.0, 38.0, 2.0],
                "Unit": "Microseconds",
            }
        ],
    )


def recommend(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any] | None]:
    output = tmp_path / "confirmation.json"
    output.unlink(missing_ok=True)
    args = [
        "recommend",
        ENDPOINT,
        "--region",
        "us-east-1",
        "--role-arn",
        ROLE,
        "--output",
        str(output),
        *extra,
    ]
    code = cli(args, sleep=lambda _seconds: None)  # each Describe ages an emulated job by one tick
    return code, json.loads(output.read_text()) if output.exists() else None


def put_payload(aws: EmulatedAws) -> None:
    s3 = aws.client("s3")
    bucket, key = split_s3_url(PAYLOAD)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=pack_payload([(b"1.0,2.0,3.0", "text/csv")]))


@pytest.fixture
def oversized(aws: EmulatedAws) -> None:
    seed(aws, tags={PAYLOAD_TAG: PAYLOAD})
    put_payload(aws)


def test_recommend_wait_confirms_the_rightsize_and_writes_issue_9s_json(
    oversized: None, aws: EmulatedAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN an over-provisioned ml.c5.2xlarge with a model, a sample-payload tag, observed p99 30 ms and a
    busiest minute of 400 invocations
    WHEN `recommend --wait --output` runs
    THEN it exits 0; the JSON holds the baseline as observed and one option per benchmarked instance type;
    ml.c5.large (40 ms > 36 ms) is not offered and 1 x ml.c5.xlarge is chosen; and every request the CLI
    sent passes the botocore model's validation."""
    with RequestRecorder.all_clients() as recorder:
        code, document = recommend(tmp_path, "--wait")
    assert code == 0, capsys.readouterr().err
    assert document is not None
    print(json.dumps(document, indent=2))  # the closing note quotes it
    assert list(document) == [
        "schema_version",
        "endpoint_name",
        "job_name",
        "status",
        "baseline",
        "options",
        "chosen",
        "reasons",
    ]
    assert (document["schema_version"], document["endpoint_name"], document["status"]) == (
        1,
        ENDPOINT,
        "COMPLETED",
    )
    assert document["baseline"] == {
        "instance_type": "ml.c5.2xlarge",
        "instance_count": 1,
        "observed_p99_latency_ms": OBSERVED_P99_MS,
        "observed_peak_invocations_per_minute": PEAK_PER_MINUTE,
    }
    options = {option["instance_type"]: option for option in document["options"]}
    assert set(options) == {"ml.c5.2xlarge", "ml.c5.xlarge", "ml.c5.large"}
    assert options["ml.c5.large"]["meets_latency"] is False
    assert any(reason.startswith("ml.c5.large: p99 40 ms > 36 ms") for reason in document["reasons"])
    assert document["chosen"]["instance_type"] == "ml.c5.xlarge"
    assert document["chosen"]["instance_count"] == 1
    assert "serverless_memory_mb" not in document["chosen"]
    # AND the job was an Advanced job by ModelName, never on the production endpoint
    (create,) = recorder.of("CreateInferenceRecommendationsJob")
    assert create.params["InputConfig"]["ModelName"] == MODEL
    assert "Endpoints" not in create.params["InputConfig"]
    assert create.params["InputConfig"]["ContainerConfig"]["PayloadConfig"]["SamplePayloadUrl"] == PAYLOAD
    assert create.params["RoleArn"] == ROLE
    assert recorder.of("GetMetricData") and recorder.of("DescribeInferenceRecommendationsJob")
    recorder.assert_all_valid()


def test_a_second_run_reuses_the_completed_job(oversized: None, aws: EmulatedAws, tmp_path: Path) -> None:
    """GIVEN a completed recommend run WHEN the same command runs again
    THEN it reuses that job (no second CreateInferenceRecommendationsJob) and reports the same choice."""
    code, first = recommend(tmp_path, "--wait")
    assert code == 0 and first is not None
    with RequestRecorder.all_clients(service="sagemaker") as recorder:
        code, second = recommend(tmp_path, "--wait")
    assert code == 0 and second is not None
    assert not recorder.of("CreateInferenceRecommendationsJob")
    assert second["job_name"] == first["job_name"]
    assert second["chosen"] == first["chosen"]
    assert len(aws.recommender.jobs()) == 1
    recorder.assert_all_valid()


def test_without_wait_a_running_job_is_reported_and_the_exit_is_not_zero(
    oversized: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN no --wait WHEN recommend starts the job THEN it says the job is running and how to wait for
    it, exits 3, and the JSON carries the job's name and status."""
    code, document = recommend(tmp_path)
    assert code == 3
    assert document is not None and document["status"] == "PENDING" and document["job_name"]
    assert "run the same command with --wait" in capsys.readouterr().err


def test_no_payload_exits_non_zero_with_the_how_to(
    aws: EmulatedAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN the same endpoint without a payload tag or Data Capture WHEN recommend runs
    THEN no job is created, it exits 1, the JSON says NOT_STARTED and the reason names the tag to add."""
    seed(aws, tags={})
    with RequestRecorder.all_clients(service="sagemaker") as recorder:
        code, document = recommend(tmp_path, "--wait")
    assert code == 1
    assert document is not None and document["status"] == "NOT_STARTED" and document["job_name"] is None
    assert f"tag the endpoint {PAYLOAD_TAG}=s3://" in document["reasons"][0]
    printed = capsys.readouterr()
    assert PAYLOAD_TAG in printed.out and "no completed benchmark" in printed.err
    assert not recorder.of("CreateInferenceRecommendationsJob")
    recorder.assert_all_valid()


# ---------------------------------------------------------------- a Graviton move (issue 9, gap 1)
X86_XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1"
ARM64_XGBOOST = f"{X86_XGBOOST}-arm64"  # decide/confirm/images.py ARM64_BUILDS
GRAVITON_P99_MS = 35.0  # threshold 42 ms: a 4-vCPU Graviton (37 ms) meets it, a 2-vCPU one (44 ms) not


@pytest.fixture
def busy_on_x86(aws: EmulatedAws) -> None:
    """ml.c5.xlarge (4 vCPU) at 50 % CPU, XGBoost 1.5-1 (x86, an arm64 build is known): not a rightsize,
    a Graviton move."""
    variant = VariantSpec(instance_type="ml.c5.xlarge", image=X86_XGBOOST)
    seed(aws, tags={PAYLOAD_TAG: PAYLOAD}, variant=variant, cpu=200.0, p99_ms=GRAVITON_P99_MS)
    put_payload(aws)


def is_graviton(instance_type: str) -> bool:
    return instance_type.rpartition(".")[0] in GRAVITON_REALTIME_SIZES


def test_a_graviton_move_is_benchmarked_on_a_throwaway_arm64_model_that_is_deleted_after(
    busy_on_x86: None, aws: EmulatedAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a busy ml.c5.xlarge whose model runs the x86 XGBoost 1.5-1 image, a payload tag, observed p99
    35 ms
    WHEN `recommend --wait --output` runs
    THEN it creates eo-arm64-<hash>: the endpoint's model (same artifact and environment) on the arm64
    build, run by the recommender role, no VPC; benchmarks only Graviton types on it (not today's x86
    type); exits 0 with a Graviton option chosen and the 2-vCPU one rejected with its measured latency;
    then deletes that model, and only it; every request passes the botocore model's validation."""
    with RequestRecorder.all_clients() as recorder:
        code, document = recommend(tmp_path, "--wait")
    assert code == 0, capsys.readouterr().err
    assert document is not None
    print(json.dumps(document, indent=2))  # the closing note quotes it
    (create_model,) = recorder.of("CreateModel")
    benchmark = create_model.params["ModelName"]
    assert re.fullmatch(r"eo-arm64-[0-9a-f]{16}", benchmark)
    assert create_model.params == {
        "ModelName": benchmark,
        "PrimaryContainer": {
            "Image": ARM64_XGBOOST,
            "ModelDataUrl": model_artifact_url(ENDPOINT, "AllTraffic"),
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
        "ExecutionRoleArn": ROLE,
    }
    (job,) = recorder.of("CreateInferenceRecommendationsJob")
    assert job.params["InputConfig"]["ModelName"] == benchmark
    benchmarked = [item["InstanceType"] for item in job.params["InputConfig"]["EndpointConfigurations"]]
    assert benchmarked and all(is_graviton(t) for t in benchmarked), benchmarked
    assert document["status"] == "COMPLETED"
    assert document["baseline"]["instance_type"] == "ml.c5.xlarge"
    assert document["chosen"] is not None and is_graviton(document["chosen"]["instance_type"])
    assert document["chosen"]["instance_count"] == 1
    assert any(reason.startswith("ml.c7g.large: p99 44 ms > 42 ms") for reason in document["reasons"])
    assert [request.params for request in recorder.of("DeleteModel")] == [{"ModelName": benchmark}]
    models = [model["ModelName"] for model in aws.client("sagemaker").list_models()["Models"]]
    assert models == [MODEL]
    recorder.assert_all_valid()


def test_a_second_graviton_run_reuses_the_job_and_creates_no_model(
    busy_on_x86: None, aws: EmulatedAws, tmp_path: Path
) -> None:
    """GIVEN a completed Graviton recommend run (its benchmark model deleted)
    WHEN the same command runs again
    THEN the job is found by the benchmark model's deterministic name and reused: no CreateModel, no
    second job, the same choice; its DeleteModel of the gone model is no error."""
    code, first = recommend(tmp_path, "--wait")
    assert code == 0 and first is not None
    with RequestRecorder.all_clients(service="sagemaker") as recorder:
        code, second = recommend(tmp_path, "--wait")
    assert code == 0 and second is not None
    assert not recorder.of("CreateModel") and not recorder.of("CreateInferenceRecommendationsJob")
    assert second["job_name"] == first["job_name"] and second["chosen"] == first["chosen"]
    assert len(aws.recommender.jobs()) == 1
    recorder.assert_all_valid()


def test_a_graviton_move_of_an_image_without_a_known_arm64_build_is_not_started(
    aws: EmulatedAws, tmp_path: Path
) -> None:
    """GIVEN the same busy ml.c5.xlarge running XGBoost 1.7-1, whose arm64 build the image table does not
    know
    WHEN recommend runs THEN no model and no job are created; it exits 1, NOT_STARTED, saying so."""
    variant = VariantSpec(instance_type="ml.c5.xlarge", image=X86_XGBOOST.replace("1.5-1", "1.7-1"))
    seed(aws, tags={PAYLOAD_TAG: PAYLOAD}, variant=variant, cpu=200.0, p99_ms=GRAVITON_P99_MS)
    put_payload(aws)
    with RequestRecorder.all_clients(service="sagemaker") as recorder:
        code, document = recommend(tmp_path, "--wait")
    assert code == 1 and document is not None and document["status"] == "NOT_STARTED"
    assert "needs an arm64 build of" in document["reasons"][0]
    assert not recorder.of("CreateModel") and not recorder.of("CreateInferenceRecommendationsJob")
    recorder.assert_all_valid()


def test_the_emulated_cloudwatch_ranks_percentiles_of_statistic_sets_as_aws_allows(aws: EmulatedAws) -> None:
    """GIVEN ModelLatency published as statistic sets: 99 samples all at 10 ms (Min = Max), one at 50 ms
    WHEN p99 and p100 are asked for THEN 10 ms and 50 ms (a set with Min = Max counts SampleCount times);
    and a spread-out set (Min != Max, SampleCount 5) leaves the period without a percentile."""
    aws.reset()
    cloudwatch = aws.client("cloudwatch")
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    dimensions = [{"Name": "EndpointName", "Value": "sets"}, {"Name": "VariantName", "Value": "AllTraffic"}]

    def put(metric: str, sets: list[tuple[float, float, float, float]]) -> None:
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": dimensions,
                    "Timestamp": minute,
                    "StatisticValues": {"SampleCount": n, "Sum": total, "Minimum": low, "Maximum": high},
                }
                for n, total, low, high in sets
            ],
        )

    def percentile(metric: str, stat: str) -> list[float]:
        answer = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "q",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": metric,
                            "Dimensions": dimensions,
                        },
                        "Period": 3600,
                        "Stat": stat,
                    },
                }
            ],
            StartTime=minute - timedelta(minutes=30),
            EndTime=minute + timedelta(minutes=30),
        )
        return [float(v) for v in answer["MetricDataResults"][0]["Values"]]

    put("Equal", [(99.0, 990.0, 10.0, 10.0), (1.0, 50.0, 50.0, 50.0)])
    put("Spread", [(5.0, 100.0, 10.0, 30.0)])
    assert percentile("Equal", "p99") == [10.0]
    assert percentile("Equal", "p100") == [50.0]
    assert percentile("Spread", "p99") == []


def test_the_models_instant_recommendations_narrow_the_benchmark_to_what_they_name(
    oversized: None, aws: EmulatedAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the over-provisioned ml.c5.2xlarge whose model SageMaker has COMPLETED free instant
    recommendations for, naming ml.c5.xlarge only
    WHEN `recommend --wait` runs
    THEN the job benchmarks today's type and ml.c5.xlarge, not ml.c5.large (the paid benchmark is spent on
    what the free hint names), and chooses ml.c5.xlarge."""
    from moto.core.responses import ActionResult
    from moto.sagemaker.responses import SageMakerResponse

    def describe_model(self: SageMakerResponse) -> ActionResult:
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
        instant = {
            "RecommendationStatus": "COMPLETED",
            "RealTimeInferenceRecommendations": [
                {"RecommendationId": "instant-1", "InstanceType": "ml.c5.xlarge", "Environment": {}}
            ],
        }
        return ActionResult({**model.response_object, "DeploymentRecommendation": instant})

    monkeypatch.setattr(SageMakerResponse, "describe_model", describe_model)
    with RequestRecorder.all_clients(service="sagemaker") as recorder:
        code, document = recommend(tmp_path, "--wait")
    assert code == 0 and document is not None
    (create,) = recorder.of("CreateInferenceRecommendationsJob")
    benchmarked = [item["InstanceType"] for item in create.params["InputConfig"]["EndpointConfigurations"]]
    assert benchmarked == ["ml.c5.2xlarge", "ml.c5.xlarge"]
    assert document["chosen"]["instance_type"] == "ml.c5.xlarge"
    recorder.assert_all_valid()
