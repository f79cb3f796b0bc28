"""The inventory reads at the wire: the exact request of every page (botocore Stubber: any other call, or
other parameters, fails the test), that every page is read to the last token, that each page is counted
as one call, how the answers map to the model, and that an AWS error reaches the region's scan (which
decides what it means: scan/region.py).

Page sizes and tokens from the botocore service models (scan/inventory.py): ListEndpoints and
ListInferenceComponents MaxResults/NextToken; GetResources ResourcesPerPage/PaginationToken (an empty
token ends); DescribeScalableTargets and DescribeScheduledActions MaxResults/NextToken."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from endpoint_optimizer.models import ScalableTarget, ScheduledAction, Variant
from endpoint_optimizer.scan.calls import CallCounter
from endpoint_optimizer.scan.inventory import (
    describe_config,
    describe_endpoint,
    describe_inference_component,
    list_endpoint_summaries,
    list_inference_components,
    scalable_targets_by_resource,
    scheduled_actions_by_resource,
    tags_by_arn,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREATED = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
MODIFIED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
INSTANCE_COUNT = "DesiredInstanceCount"
DIMENSION = f"sagemaker:variant:{INSTANCE_COUNT}"


def stubbed(service: str) -> Iterator[Stubber]:
    with Stubber(boto3.client(service, region_name=REGION)) as stubber:  # type: ignore[call-overload]
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sagemaker() -> Iterator[Stubber]:
    yield from stubbed("sagemaker")


@pytest.fixture
def tagging() -> Iterator[Stubber]:
    yield from stubbed("resourcegroupstaggingapi")


@pytest.fixture
def autoscaling() -> Iterator[Stubber]:
    yield from stubbed("application-autoscaling")


def arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"


def summary(name: str) -> dict[str, Any]:
    return {
        "EndpointName": name,
        "EndpointArn": arn(name),
        "CreationTime": CREATED,
        "LastModifiedTime": MODIFIED,
        "EndpointStatus": "InService",
    }


def scalable_target(name: str, minimum: int, maximum: int) -> dict[str, Any]:
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"endpoint/{name}/variant/AllTraffic",
        "ScalableDimension": DIMENSION,
        "MinCapacity": minimum,
        "MaxCapacity": maximum,
        "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling",
        "CreationTime": CREATED,
    }


# ---- paged lists -------------------------------------------------------------------------------------
def test_every_page_of_list_endpoints_is_read_at_100_a_page_and_each_page_counted(sagemaker: Stubber) -> None:
    """GIVEN endpoints over two pages WHEN the region's endpoints are listed THEN ListEndpoints is sent with
    MaxResults 100, then again with the NextToken; both pages' endpoints come back; two calls counted."""
    sagemaker.add_response(
        "list_endpoints", {"Endpoints": [summary("a")], "NextToken": "page-2"}, {"MaxResults": 100}
    )
    sagemaker.add_response(
        "list_endpoints", {"Endpoints": [summary("b")]}, {"MaxResults": 100, "NextToken": "page-2"}
    )
    count = CallCounter()
    found = list_endpoint_summaries(sagemaker.client, count)  # type: ignore[arg-type]
    assert [item["EndpointName"] for item in found] == ["a", "b"]
    assert count.counts == {"sagemaker:ListEndpoints": 2}


def test_tags_are_read_for_sagemaker_endpoints_only_over_every_page_keyed_by_lower_cased_arn(
    tagging: Stubber,
) -> None:
    """GIVEN tagged endpoints over two GetResources pages WHEN the region's tags are read THEN each page asks
    for ResourceTypeFilters ["sagemaker:endpoint"] at 100 a page (the second with the PaginationToken), the
    empty token ends, and a resource without tags maps to no tags."""
    base = {"ResourceTypeFilters": ["sagemaker:endpoint"], "ResourcesPerPage": 100}
    tagging.add_response(
        "get_resources",
        {
            "ResourceTagMappingList": [
                {
                    "ResourceARN": arn("Fraud-XGB"),
                    "Tags": [{"Key": "endpoint-optimizer:skip", "Value": "true"}],
                }
            ],
            "PaginationToken": "page-2",
        },
        base,
    )
    tagging.add_response(
        "get_resources",
        {"ResourceTagMappingList": [{"ResourceARN": arn("untagged")}], "PaginationToken": ""},
        base | {"PaginationToken": "page-2"},
    )
    count = CallCounter()
    tags = tags_by_arn(tagging.client, count)  # type: ignore[arg-type]
    assert tags == {arn("fraud-xgb"): {"endpoint-optimizer:skip": "true"}, arn("untagged"): {}}
    assert count.counts == {"tagging:GetResources": 2}


def test_scalable_targets_are_read_for_the_sagemaker_namespace_over_every_page(autoscaling: Stubber) -> None:
    """GIVEN scalable targets over two pages WHEN they are read THEN DescribeScalableTargets is sent for
    ServiceNamespace sagemaker at 50 a page, then with the NextToken, and targets group by resource id."""
    autoscaling.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": [scalable_target("a", 1, 4)], "NextToken": "page-2"},
        {"ServiceNamespace": "sagemaker", "MaxResults": 50},
    )
    autoscaling.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": [scalable_target("b", 0, 2)]},
        {"ServiceNamespace": "sagemaker", "MaxResults": 50, "NextToken": "page-2"},
    )
    count = CallCounter()
    targets = scalable_targets_by_resource(autoscaling.client, count)  # type: ignore[arg-type]
    assert targets == {
        "endpoint/a/variant/AllTraffic": [
            ScalableTarget(
                resource_id="endpoint/a/variant/AllTraffic",
                scalable_dimension=DIMENSION,
                min_capacity=1,
                max_capacity=4,
            )
        ],
        "endpoint/b/variant/AllTraffic": [
            ScalableTarget(
                resource_id="endpoint/b/variant/AllTraffic",
                scalable_dimension=DIMENSION,
                min_capacity=0,
                max_capacity=2,
            )
        ],
    }
    assert count.counts == {"application-autoscaling:DescribeScalableTargets": 2}


def test_scheduled_actions_are_read_for_the_sagemaker_namespace_over_every_page(autoscaling: Stubber) -> None:
    def action(name: str, resource: str, target: dict[str, int]) -> dict[str, Any]:
        return {
            "ScheduledActionName": name,
            "ScheduledActionARN": f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:scheduledAction:{name}",
            "ServiceNamespace": "sagemaker",
            "Schedule": "cron(0 19 ? * MON-FRI *)",
            "ResourceId": resource,
            "ScalableDimension": DIMENSION,
            "ScalableTargetAction": target,
            "CreationTime": CREATED,
        }

    resource = "endpoint/a/variant/AllTraffic"
    autoscaling.add_response(
        "describe_scheduled_actions",
        {
            "ScheduledActions": [action("evening", resource, {"MinCapacity": 0, "MaxCapacity": 0})],
            "NextToken": "p2",
        },
        {"ServiceNamespace": "sagemaker", "MaxResults": 50},
    )
    autoscaling.add_response(
        "describe_scheduled_actions",
        {"ScheduledActions": [action("morning", resource, {"MinCapacity": 1})]},
        {"ServiceNamespace": "sagemaker", "MaxResults": 50, "NextToken": "p2"},
    )
    actions = scheduled_actions_by_resource(autoscaling.client)  # type: ignore[arg-type]
    schedule = "cron(0 19 ? * MON-FRI *)"
    assert actions == {
        resource: [
            ScheduledAction(
                resource_id=resource,
                name="evening",
                schedule=schedule,
                scalable_dimension=DIMENSION,
                min_capacity=0,
                max_capacity=0,
            ),
            ScheduledAction(
                resource_id=resource,
                name="morning",
                schedule=schedule,
                scalable_dimension=DIMENSION,
                min_capacity=1,
                max_capacity=None,
            ),
        ]
    }


def test_inference_components_are_listed_at_100_a_page_over_every_page(sagemaker: Stubber) -> None:
    def component(name: str) -> dict[str, Any]:
        return {
            "InferenceComponentName": name,
            "InferenceComponentArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}",
            "EndpointName": "shared",
            "EndpointArn": arn("shared"),
            "VariantName": "AllTraffic",
            "CreationTime": CREATED,
            "LastModifiedTime": MODIFIED,
        }

    sagemaker.add_response(
        "list_inference_components",
        {"InferenceComponents": [component("ic-1")], "NextToken": "p2"},
        {"MaxResults": 100},
    )
    sagemaker.add_response(
        "list_inference_components",
        {"InferenceComponents": [component("ic-2")]},
        {"MaxResults": 100, "NextToken": "p2"},
    )
    found = list_inference_components(sagemaker.client)  # type: ignore[arg-type]
    assert [item["InferenceComponentName"] for item in found] == ["ic-1", "ic-2"]


# ---- describes ---------------------------------------------------------------------------------------
def test_an_inference_component_is_described_by_name_and_mapped(sagemaker: Stubber) -> None:
    """GIVEN a component with naive timestamps WHEN it is described THEN one DescribeInferenceComponent by
    name, its copies, compute and image mapped, and its times read as UTC."""
    sagemaker.add_response(
        "describe_inference_component",
        {
            "InferenceComponentName": "ic-1",
            "InferenceComponentArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/ic-1",
            "EndpointName": "shared",
            "EndpointArn": arn("shared"),
            "VariantName": "AllTraffic",
            "InferenceComponentStatus": "InService",
            "CreationTime": CREATED.replace(tzinfo=None),
            "LastModifiedTime": MODIFIED.replace(tzinfo=None),
            "Specification": {
                "ModelName": "model-1",
                "Container": {"DeployedImage": {"SpecifiedImage": "img:1"}},
                "ComputeResourceRequirements": {
                    "NumberOfCpuCoresRequired": 2.0,
                    "MinMemoryRequiredInMb": 1024,
                    "NumberOfAcceleratorDevicesRequired": 1.0,
                },
            },
            "RuntimeConfig": {"CurrentCopyCount": 2, "DesiredCopyCount": 3},
        },
        {"InferenceComponentName": "ic-1"},
    )
    count = CallCounter()
    component = describe_inference_component(sagemaker.client, "ic-1", count)  # type: ignore[arg-type]
    assert (component.created_at, component.last_modified_at) == (CREATED, MODIFIED)
    assert (component.model_name, component.image, component.current_copies, component.desired_copies) == (
        "model-1",
        "img:1",
        2,
        3,
    )
    assert (component.cpu_cores, component.min_memory_mb, component.accelerators) == (2.0, 1024, 1.0)
    assert count.counts == {"sagemaker:DescribeInferenceComponent": 1}


def config_answer() -> dict[str, Any]:
    return {
        "EndpointConfigName": "config-1",
        "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/config-1",
        "CreationTime": CREATED,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "model-1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
            }
        ],
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": 10,
            "DestinationS3Uri": "s3://capture/",
            "CaptureOptions": [{"CaptureMode": "Input"}],
        },
        "EnableNetworkIsolation": True,
    }


def test_an_endpoint_config_is_described_once_by_name_and_mapped(sagemaker: Stubber) -> None:
    sagemaker.add_response("describe_endpoint_config", config_answer(), {"EndpointConfigName": "config-1"})
    count = CallCounter()
    config = describe_config(sagemaker.client, "config-1", count)  # type: ignore[arg-type]
    assert config.variants == {
        "AllTraffic": Variant(
            name="AllTraffic", instance_type="ml.m5.large", instance_count=2, model_name="model-1"
        )
    }
    assert (config.data_capture, config.network_isolation, config.vpc, config.async_inference) == (
        True,
        True,
        False,
        False,
    )
    assert count.counts == {"sagemaker:DescribeEndpointConfig": 1}


def test_an_endpoint_is_described_by_name_and_its_live_count_overrides_its_configs(
    sagemaker: Stubber,
) -> None:
    """GIVEN an endpoint scaled to 3 instances from a config that started 2 WHEN it is described THEN one
    DescribeEndpoint by name, the live count and image win, and the config's facts join it."""
    sagemaker.add_response(
        "describe_endpoint",
        {
            "EndpointName": "fraud",
            "EndpointArn": arn("fraud"),
            "EndpointConfigName": "config-1",
            "EndpointStatus": "InService",
            "CreationTime": CREATED.replace(tzinfo=None),
            "LastModifiedTime": MODIFIED,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "CurrentInstanceCount": 3,
                    "DeployedImages": [{"SpecifiedImage": "img:2"}],
                }
            ],
        },
        {"EndpointName": "fraud"},
    )
    sagemaker.add_response("describe_endpoint_config", config_answer(), {"EndpointConfigName": "config-1"})
    count = CallCounter()
    client = sagemaker.client
    endpoint = describe_endpoint(
        client,  # type: ignore[arg-type]
        "fraud",
        account_id=ACCOUNT,
        region=REGION,
        config_for=lambda name: describe_config(client, name, count),  # type: ignore[arg-type]
        count=count,
    )
    assert [(v.instance_type, v.instance_count, v.image) for v in endpoint.variants] == [
        ("ml.m5.large", 3, "img:2")
    ]
    assert (endpoint.arn, endpoint.status, endpoint.config_name, endpoint.created_at) == (
        arn("fraud"),
        "InService",
        "config-1",
        CREATED,
    )
    assert (endpoint.data_capture, endpoint.network_isolation) == (True, True)
    assert count.counts == {"sagemaker:DescribeEndpoint": 1, "sagemaker:DescribeEndpointConfig": 1}


# ---- errors ------------------------------------------------------------------------------------------
def test_a_refused_tag_read_reaches_the_regions_scan(tagging: Stubber) -> None:
    """GIVEN GetResources refused WHEN tags are read THEN the ClientError reaches the caller: an endpoint is
    never taken as untagged (and so not skipped) because its tags could not be read."""
    tagging.add_client_error("get_resources", "AccessDeniedException", "not allowed", 400)
    with pytest.raises(ClientError, match="AccessDeniedException"):
        tags_by_arn(tagging.client)  # type: ignore[arg-type]


def test_an_endpoint_deleted_between_list_and_describe_reaches_the_regions_scan_as_sagemakers_error(
    sagemaker: Stubber,
) -> None:
    sagemaker.add_client_error(
        "describe_endpoint",
        "ValidationException",
        'Could not find endpoint "gone".',
        400,
        expected_params={"EndpointName": "gone"},
    )
    with pytest.raises(ClientError, match="Could not find endpoint"):
        describe_endpoint(
            sagemaker.client,  # type: ignore[arg-type]
            "gone",
            account_id=ACCOUNT,
            region=REGION,
            config_for=lambda name: pytest.fail(f"no config read for a missing endpoint ({name})"),
        )
