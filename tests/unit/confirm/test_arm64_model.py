"""A Graviton benchmark's throwaway model: its name, the CreateModel request made from the endpoint's
model, and at the wire (botocore Stubber: any other call, or other parameters, fails the test) how it is
made, reused and deleted, and that nothing but such a model is ever deleted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from endpoint_optimizer.confirm.arm64_model import (
    Arm64Model,
    Arm64ModelRefused,
    ensure_arm64_model,
    release_arm64_model,
)
from endpoint_optimizer.decide.confirm.arm64_model import (
    arm64_model_name,
    arm64_model_request,
    is_arm64_model,
)
from endpoint_optimizer.decide.confirm.images import container_config_for
from tests.conftest import NOW

SOURCE = "shop-ranker-alltraffic"
X86_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1"
ARM64_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1-arm64"
ROLE = "arn:aws:iam::123456789012:role/endpoint-optimizer-recommender"
SOURCE_ROLE = "arn:aws:iam::123456789012:role/team-ranker-execution"
ARTIFACT = "s3://team-models/ranker/model.tar.gz"
BENCHMARK = arm64_model_name(SOURCE, ARM64_IMAGE)
# CreateModel's ModelName (botocore 1.43 SageMaker model): 1-63 characters of this pattern.
MODEL_NAME = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")
JOB = "eo-0123456789ab-202612011200-shop-ranker"


def source_model(**changes: Any) -> dict[str, Any]:
    """DescribeModel of the endpoint's model (x86 image)."""
    return {
        "ModelName": SOURCE,
        "ModelArn": f"arn:aws:sagemaker:us-east-1:123456789012:model/{SOURCE}",
        "CreationTime": NOW,
        "ExecutionRoleArn": SOURCE_ROLE,
        "PrimaryContainer": {
            "Image": X86_IMAGE,
            "ModelDataUrl": ARTIFACT,
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
            "Mode": "SingleModel",
        },
        **changes,
    }


def expected_create() -> dict[str, Any]:
    return {
        "ModelName": BENCHMARK,
        "PrimaryContainer": {
            "Image": ARM64_IMAGE,
            "ModelDataUrl": ARTIFACT,
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
            "Mode": "SingleModel",
        },
        "ExecutionRoleArn": ROLE,
    }


def not_found(stub: Stubber, operation: str, name: str) -> None:
    stub.add_client_error(
        operation,
        service_error_code="ValidationException",
        service_message=f'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/{name}".',
        expected_params={"ModelName": name},
    )


def listing(stub: Stubber, jobs: list[tuple[str, str]]) -> None:
    stub.add_response(
        "list_inference_recommendations_jobs",
        {
            "InferenceRecommendationsJobs": [
                {
                    "JobName": name,
                    "JobDescription": "",
                    "JobType": "Advanced",
                    "JobArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/{name}",
                    "Status": status,
                    "CreationTime": NOW,
                    "RoleArn": ROLE,
                    "LastModifiedTime": NOW,
                    "ModelName": BENCHMARK,
                }
                for name, status in jobs
            ]
        },
        {"ModelNameEquals": BENCHMARK, "MaxResults": 100},
    )


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


# ------------------------------------------------------------------------------ the name and request


def test_the_benchmark_models_name_is_short_valid_and_the_same_for_the_same_model_and_image() -> None:
    """GIVEN an endpoint's model and the arm64 build of its image (from the image table)
    WHEN the benchmark model is named
    THEN the name is eo-arm64-<16 hex digits>, a valid ModelName of at most 63 characters, the same on
    every run, and another model or another image gives another name."""
    facts = container_config_for(X86_IMAGE)
    assert facts is not None and facts.arm64_image == ARM64_IMAGE
    long_source = "m" * 63
    assert re.fullmatch(r"eo-arm64-[0-9a-f]{16}", BENCHMARK)
    assert MODEL_NAME.match(arm64_model_name(long_source, ARM64_IMAGE))
    assert len(arm64_model_name(long_source, ARM64_IMAGE)) <= 63
    assert arm64_model_name(SOURCE, ARM64_IMAGE) == BENCHMARK
    assert arm64_model_name("other-model", ARM64_IMAGE) != BENCHMARK
    assert arm64_model_name(SOURCE, ARM64_IMAGE.replace("1.5-1", "1.3-1")) != BENCHMARK


def test_only_names_of_the_benchmark_models_shape_count_as_benchmark_models() -> None:
    """GIVEN names of the benchmark model, of the endpoint's own model and look-alikes
    WHEN asked which may be deleted THEN only eo-arm64- followed by exactly 16 hex digits."""
    assert is_arm64_model(BENCHMARK)
    for name in (SOURCE, "eo-arm64-production-ranker", f"{BENCHMARK}0", BENCHMARK.upper(), "", None):
        assert not is_arm64_model(name), name


def test_the_benchmark_model_copies_artifact_environment_and_mode_with_the_arm64_image_and_the_role() -> None:
    """GIVEN the endpoint's model (x86 image, its own execution role, no VPC)
    WHEN the benchmark model's CreateModel request is made
    THEN it runs the arm64 image with the same artifact, environment and mode, under the recommender role
    (which the recommend function may pass), with no VpcConfig and no tags."""
    assert arm64_model_request(source_model(), arm64_image=ARM64_IMAGE, role_arn=ROLE) == expected_create()


def test_a_vpc_model_in_containers_keeps_its_vpc_and_isolation_and_a_pipeline_is_refused() -> None:
    """GIVEN a model described with Containers (one), a VpcConfig and network isolation, then a pipeline
    of two containers
    WHEN the request is made
    THEN the one container is copied with the arm64 image, VpcConfig and isolation kept; the pipeline gets
    a reason instead (several images: not one arm64 build)."""
    vpc = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}
    container = {"Image": X86_IMAGE, "ModelDataUrl": ARTIFACT}
    single = source_model(
        PrimaryContainer=None, Containers=[container], VpcConfig=vpc, EnableNetworkIsolation=True
    )
    request = arm64_model_request(single, arm64_image=ARM64_IMAGE, role_arn=ROLE)
    assert request == {
        "ModelName": BENCHMARK,
        "PrimaryContainer": {"Image": ARM64_IMAGE, "ModelDataUrl": ARTIFACT},
        "ExecutionRoleArn": ROLE,
        "VpcConfig": vpc,
        "EnableNetworkIsolation": True,
    }
    pipeline = source_model(PrimaryContainer=None, Containers=[container, container])
    reason = arm64_model_request(pipeline, arm64_image=ARM64_IMAGE, role_arn=ROLE)
    assert isinstance(reason, str) and "runs 2" in reason


# ------------------------------------------------------------------------------ at the wire


def test_a_missing_benchmark_model_is_created_from_the_endpoints_model(stub: Stubber) -> None:
    """GIVEN no benchmark model yet WHEN it is ensured
    THEN DescribeModel of its name (not found), DescribeModel of the source, then CreateModel exactly as
    the request above; it says it created it."""
    not_found(stub, "describe_model", BENCHMARK)
    stub.add_response("describe_model", source_model(), {"ModelName": SOURCE})
    stub.add_response(
        "create_model",
        {"ModelArn": f"arn:aws:sagemaker:us-east-1:123456789012:model/{BENCHMARK}"},
        expected_create(),
    )
    made = ensure_arm64_model(stub.client, SOURCE, ARM64_IMAGE, role_arn=ROLE)  # type: ignore[arg-type]
    assert made == Arm64Model(BENCHMARK, created=True)


def test_an_existing_benchmark_model_is_reused_and_a_create_race_is_too(stub: Stubber) -> None:
    """GIVEN the benchmark model exists (an earlier run), then another run creates it between this run's
    DescribeModel and CreateModel
    WHEN it is ensured each time
    THEN the first is reused with one DescribeModel; the second's "already existing" is a reuse too."""
    stub.add_response(
        "describe_model",
        {**source_model(), "ModelName": BENCHMARK, "ModelArn": f"arn:aws:sagemaker:::model/{BENCHMARK}"},
        {"ModelName": BENCHMARK},
    )
    not_found(stub, "describe_model", BENCHMARK)
    stub.add_response("describe_model", source_model(), {"ModelName": SOURCE})
    stub.add_client_error(
        "create_model",
        service_error_code="ValidationException",
        service_message=f'Cannot create already existing model "arn:aws:sagemaker:::model/{BENCHMARK}".',
        expected_params=expected_create(),
    )
    first = ensure_arm64_model(stub.client, SOURCE, ARM64_IMAGE, role_arn=ROLE)  # type: ignore[arg-type]
    second = ensure_arm64_model(stub.client, SOURCE, ARM64_IMAGE, role_arn=ROLE)  # type: ignore[arg-type]
    assert first == second == Arm64Model(BENCHMARK, created=False)


def test_an_image_aws_refuses_is_a_reason_and_a_missing_permission_is_raised(stub: Stubber) -> None:
    """GIVEN CreateModel refused for an image the region lacks, then refused for want of a permission
    WHEN the model is ensured THEN the first is a reason naming the model, image and AWS's words; the
    second reaches the caller (a misconfigured stack is not a benchmark result)."""
    for error in ("ValidationException", "AccessDeniedException"):
        not_found(stub, "describe_model", BENCHMARK)
        stub.add_response("describe_model", source_model(), {"ModelName": SOURCE})
        stub.add_client_error(
            "create_model",
            service_error_code=error,
            service_message=f"Requested image {ARM64_IMAGE} not found.",
            expected_params=expected_create(),
        )
    refused = ensure_arm64_model(stub.client, SOURCE, ARM64_IMAGE, role_arn=ROLE)  # type: ignore[arg-type]
    assert isinstance(refused, Arm64ModelRefused)
    assert BENCHMARK in refused.reason and f"Requested image {ARM64_IMAGE} not found." in refused.reason
    with pytest.raises(ClientError):
        ensure_arm64_model(stub.client, SOURCE, ARM64_IMAGE, role_arn=ROLE)  # type: ignore[arg-type]


def test_a_finished_jobs_benchmark_model_is_deleted_and_deleting_it_twice_is_no_error(stub: Stubber) -> None:
    """GIVEN the job that benchmarked the model has ended (the only other job on it, too)
    WHEN the model is released, then released again (a second finish, or a run that reused the job)
    THEN the jobs on it are listed and it is deleted; the second time DeleteModel's "Could not find" is
    answered with False, not an error."""
    listing(stub, [(JOB, "COMPLETED"), ("eo-earlier", "FAILED")])
    stub.add_response("delete_model", {}, {"ModelName": BENCHMARK})
    listing(stub, [(JOB, "COMPLETED"), ("eo-earlier", "FAILED")])
    not_found(stub, "delete_model", BENCHMARK)
    assert release_arm64_model(stub.client, BENCHMARK, finished_job=JOB) is True  # type: ignore[arg-type]
    assert release_arm64_model(stub.client, BENCHMARK, finished_job=JOB) is False  # type: ignore[arg-type]


def test_a_model_another_running_job_benchmarks_is_kept(stub: Stubber) -> None:
    """GIVEN this job has ended while another job on the same benchmark model is IN_PROGRESS
    WHEN the model is released THEN it is kept (no DeleteModel): that job's finish deletes it."""
    listing(stub, [(JOB, "STOPPING"), ("eo-other-run", "IN_PROGRESS")])
    assert release_arm64_model(stub.client, BENCHMARK, finished_job=JOB) is False  # type: ignore[arg-type]


def test_a_model_not_named_like_a_benchmark_model_is_never_touched(stub: Stubber) -> None:
    """GIVEN the endpoint's own model, a look-alike name and no model at all
    WHEN each is released THEN no call is sent (the Stubber has no responses: any call would fail)."""
    for name in (SOURCE, "eo-arm64-production-ranker", None):
        assert release_arm64_model(stub.client, name, finished_job=JOB) is False  # type: ignore[arg-type]
