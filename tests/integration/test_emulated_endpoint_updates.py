"""The emulated endpoint updates (moto_patches' patch r, endpoint_updates.py) and the Application Auto
Scaling / CloudWatch calls the apply workflow makes: blue/green rightsize and Graviton moves, the silent
rollback it must detect, scale to zero, serverless recreate, schedules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulated_aws import endpoint_updates, moto_patches
from emulated_aws.botocore_validation import RequestRecorder
from emulated_aws.server import EmulatedAws

pytestmark = pytest.mark.harness  # tests of the test harness itself: `pytest -m "not harness"` skips them

MODEL = "fraud-xgb"
ROLE = "arn:aws:iam::123456789012:role/model"
ROLLBACK_ALARM = "fraud-endpoint-5xx"


@pytest.fixture(scope="module")
def emulated() -> Iterator[EmulatedAws]:
    with EmulatedAws() as running:
        yield running


@pytest.fixture
def aws(emulated: EmulatedAws) -> EmulatedAws:
    """The module's emulator, emptied, with the update knobs at their defaults."""
    emulated.reset()
    return emulated


@pytest.fixture
def valid_requests() -> Iterator[RequestRecorder]:
    """Every request the test sends must pass AWS's own validation (the strict botocore validator)."""
    with RequestRecorder.all_clients() as recorder:
        yield recorder
    recorder.assert_all_valid()


def ensure_model(aws: EmulatedAws) -> None:
    sagemaker = aws.client("sagemaker")
    if not sagemaker.list_models(NameContains=MODEL)["Models"]:
        sagemaker.create_model(ModelName=MODEL, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "xgb:1"})


def instance_config(aws: EmulatedAws, name: str, instance_type: str, count: int) -> str:
    ensure_model(aws)
    aws.client("sagemaker").create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": MODEL,
                "InstanceType": instance_type,
                "InitialInstanceCount": count,
                "InitialVariantWeight": 1.0,
            }
        ],
    )
    return name


def serverless_config(aws: EmulatedAws, name: str, memory_mb: int = 2048, concurrency: int = 5) -> str:
    ensure_model(aws)
    aws.client("sagemaker").create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": MODEL,
                "ServerlessConfig": {"MemorySizeInMB": memory_mb, "MaxConcurrency": concurrency},
            }
        ],
    )
    return name


def live_endpoint(aws: EmulatedAws, name: str, config_name: str) -> dict[str, Any]:
    """An InService endpoint on `config_name`; returns DescribeEndpoint."""
    sagemaker = aws.client("sagemaker")
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config_name)
    described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
    return described


def blue_green(alarm_names: tuple[str, ...] = (ROLLBACK_ALARM,)) -> dict[str, Any]:
    """The apply workflow's deployment config: canary 10 %, baked 10 minutes, rolled back on alarms."""
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            },
            "TerminationWaitInSeconds": 300,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarm_names]},
    }


def put_rollback_alarm(aws: EmulatedAws, endpoint: str, state: str = "OK") -> None:
    cloudwatch = aws.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=ROLLBACK_ALARM,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    cloudwatch.set_alarm_state(AlarmName=ROLLBACK_ALARM, StateValue=state, StateReason="set by the test")


def describe_until_done(aws: EmulatedAws, name: str) -> list[dict[str, Any]]:
    """DescribeEndpoint until the endpoint leaves Updating (bounded: the emulator's update clock is
    DescribeEndpoint calls); every answer, in order."""
    answers: list[dict[str, Any]] = []
    for _ in range(endpoint_updates.update_describes()):
        answers.append(aws.client("sagemaker").describe_endpoint(EndpointName=name))
        if answers[-1]["EndpointStatus"] != "Updating":
            break
    return answers


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


# ---------------------------------------------------------------------------------------------------
# UpdateEndpoint
# ---------------------------------------------------------------------------------------------------


def test_a_blue_green_update_ends_in_service_on_the_new_config(
    aws: EmulatedAws, valid_requests: RequestRecorder
) -> None:
    """GIVEN an endpoint on two ml.c5.xlarge and a Graviton config of one ml.c6g.xlarge
    WHEN it is updated blue/green with an auto-rollback alarm that stays OK
    THEN it is Updating on its old config until the update's last DescribeEndpoint, which shows it
    InService on the new config and variants, LastModifiedTime advanced, LastDeploymentConfig kept."""
    before = live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 2))
    instance_config(aws, "fraud-c6g", "ml.c6g.xlarge", 1)
    put_rollback_alarm(aws, "fraud-ep", "OK")

    answer = aws.client("sagemaker").update_endpoint(
        EndpointName="fraud-ep", EndpointConfigName="fraud-c6g", DeploymentConfig=blue_green()
    )

    assert answer["EndpointArn"] == before["EndpointArn"]
    answers = describe_until_done(aws, "fraud-ep")
    assert len(answers) == endpoint_updates.UPDATE_DESCRIBES
    updating, done = answers
    assert (updating["EndpointStatus"], updating["EndpointConfigName"]) == ("Updating", "fraud-c5")
    assert updating["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert (done["EndpointStatus"], done["EndpointConfigName"]) == ("InService", "fraud-c6g")
    variant = done["ProductionVariants"][0]
    assert (variant["VariantName"], variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (
        "AllTraffic",
        1,
        1,
    )
    assert "FailureReason" not in done
    assert done["LastModifiedTime"] > before["LastModifiedTime"]
    assert done["LastDeploymentConfig"] == blue_green()


def test_an_alarm_in_alarm_rolls_the_update_back_silently(
    aws: EmulatedAws, valid_requests: RequestRecorder
) -> None:
    """GIVEN an update whose auto-rollback alarm is in ALARM when it ends
    THEN the endpoint is InService on its OLD config and variants with no FailureReason: only comparing
    EndpointConfigName with the target tells the update did not happen (AWS has no rolled-back status)."""
    live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 2))
    instance_config(aws, "fraud-c6g", "ml.c6g.xlarge", 1)
    put_rollback_alarm(aws, "fraud-ep", "OK")
    sagemaker = aws.client("sagemaker")
    sagemaker.update_endpoint(
        EndpointName="fraud-ep", EndpointConfigName="fraud-c6g", DeploymentConfig=blue_green()
    )

    put_rollback_alarm(aws, "fraud-ep", "ALARM")  # the canary's errors trip it during the bake
    done = describe_until_done(aws, "fraud-ep")[-1]

    assert (done["EndpointStatus"], done["EndpointConfigName"]) == ("InService", "fraud-c5")
    assert done["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert "FailureReason" not in done


def test_rollback_alarms_of_the_last_deployment_config_apply_when_it_is_retained(aws: EmulatedAws) -> None:
    """GIVEN an endpoint last updated with a rollback alarm, now in ALARM
    WHEN it is updated again with RetainDeploymentConfig and no DeploymentConfig
    THEN the retained alarm rolls this update back too."""
    live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 2))
    instance_config(aws, "fraud-c6g", "ml.c6g.xlarge", 1)
    instance_config(aws, "fraud-c7g", "ml.c7g.xlarge", 1)
    put_rollback_alarm(aws, "fraud-ep", "OK")
    sagemaker = aws.client("sagemaker")
    sagemaker.update_endpoint(
        EndpointName="fraud-ep", EndpointConfigName="fraud-c6g", DeploymentConfig=blue_green()
    )
    assert describe_until_done(aws, "fraud-ep")[-1]["EndpointConfigName"] == "fraud-c6g"
    put_rollback_alarm(aws, "fraud-ep", "ALARM")

    sagemaker.update_endpoint(
        EndpointName="fraud-ep", EndpointConfigName="fraud-c7g", RetainDeploymentConfig=True
    )

    assert describe_until_done(aws, "fraud-ep")[-1]["EndpointConfigName"] == "fraud-c6g"


def test_fail_next_update_ends_that_update_on_the_old_config_with_its_reason(aws: EmulatedAws) -> None:
    """GIVEN fail_next_update for an endpoint
    THEN its next update ends InService on the old config WITH the FailureReason, and the one after it
    succeeds (the hook is used once)."""
    live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 2))
    instance_config(aws, "fraud-c6g", "ml.c6g.xlarge", 1)
    reason = "Failed to provision ml.c6g.xlarge: insufficient capacity"
    endpoint_updates.fail_next_update("fraud-ep", reason)
    sagemaker = aws.client("sagemaker")

    sagemaker.update_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-c6g")
    failed = describe_until_done(aws, "fraud-ep")[-1]
    sagemaker.update_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-c6g")
    retried = describe_until_done(aws, "fraud-ep")[-1]

    assert (failed["EndpointStatus"], failed["EndpointConfigName"]) == ("InService", "fraud-c5")
    assert failed["FailureReason"] == reason
    assert (retried["EndpointStatus"], retried["EndpointConfigName"]) == ("InService", "fraud-c6g")
    assert "FailureReason" not in retried


def test_an_endpoint_being_updated_refuses_updates_and_weight_changes_but_can_be_deleted(
    aws: EmulatedAws,
) -> None:
    """GIVEN an endpoint in Updating
    THEN another UpdateEndpoint and UpdateEndpointWeightsAndCapacities are refused as in progress,
    DeleteEndpoint works, and an endpoint created again under the name does not inherit the update."""
    live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 2))
    instance_config(aws, "fraud-c6g", "ml.c6g.xlarge", 1)
    sagemaker = aws.client("sagemaker")
    sagemaker.update_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-c6g")

    second = error_of(
        lambda: sagemaker.update_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-c5")
    )
    weights = error_of(
        lambda: sagemaker.update_endpoint_weights_and_capacities(
            EndpointName="fraud-ep",
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 3}],
        )
    )
    sagemaker.delete_endpoint(EndpointName="fraud-ep")
    sagemaker.create_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-c5")

    assert second[0] == weights[0] == "ValidationException"
    assert second[1].startswith("Cannot update in-progress endpoint")
    assert weights[1].startswith("Cannot update in-progress endpoint")
    recreated = sagemaker.describe_endpoint(EndpointName="fraud-ep")
    assert (recreated["EndpointStatus"], recreated["EndpointConfigName"]) == ("InService", "fraud-c5")


def test_update_endpoint_weights_and_capacities_still_works_on_an_endpoint_in_service(
    aws: EmulatedAws,
) -> None:
    live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 2))
    sagemaker = aws.client("sagemaker")

    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName="fraud-ep",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 3}],
    )

    variant = sagemaker.describe_endpoint(EndpointName="fraud-ep")["ProductionVariants"][0]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (3, 3)


def test_update_endpoint_refuses_a_missing_endpoint_a_missing_config_and_a_malformed_request(
    aws: EmulatedAws,
) -> None:
    live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 2))
    sagemaker = aws.client("sagemaker")
    too_long_a_wait = blue_green()
    too_long_a_wait["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] = 3601

    missing_endpoint = error_of(
        lambda: sagemaker.update_endpoint(EndpointName="nope", EndpointConfigName="fraud-c5")
    )
    missing_config = error_of(
        lambda: sagemaker.update_endpoint(EndpointName="fraud-ep", EndpointConfigName="nope")
    )
    malformed = error_of(
        lambda: sagemaker.update_endpoint(
            EndpointName="fraud-ep", EndpointConfigName="fraud-c5", DeploymentConfig=too_long_a_wait
        )
    )

    assert missing_endpoint == ("ValidationException", missing_endpoint[1])
    assert "Could not find endpoint" in missing_endpoint[1]
    assert missing_config[0] == "ValidationException"
    assert "Could not find endpoint configuration" in missing_config[1]
    assert malformed[0] == "ValidationException"
    assert "Member must have value less than or equal to 3600" in malformed[1]
    assert sagemaker.describe_endpoint(EndpointName="fraud-ep")["EndpointStatus"] == "InService"


def test_an_instance_endpoint_cannot_be_updated_to_serverless_it_is_recreated(
    aws: EmulatedAws, valid_requests: RequestRecorder
) -> None:
    """GIVEN an instance-based endpoint and a serverless config
    WHEN it is updated to the serverless config THEN ValidationException and it stays as it was;
    WHEN it is deleted and created again on that config THEN DescribeEndpoint shows the serverless
    variant (CurrentServerlessConfig)."""
    live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 1))
    serverless_config(aws, "fraud-serverless", memory_mb=3072, concurrency=10)
    sagemaker = aws.client("sagemaker")

    refused = error_of(
        lambda: sagemaker.update_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-serverless")
    )
    unchanged = sagemaker.describe_endpoint(EndpointName="fraud-ep")
    sagemaker.delete_endpoint(EndpointName="fraud-ep")
    sagemaker.create_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-serverless")
    recreated = sagemaker.describe_endpoint(EndpointName="fraud-ep")

    assert refused[0] == "ValidationException"
    assert "serverless" in refused[1]
    assert (unchanged["EndpointStatus"], unchanged["EndpointConfigName"]) == ("InService", "fraud-c5")
    assert recreated["ProductionVariants"][0]["CurrentServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 10,
    }


def test_a_serverless_endpoint_can_be_updated_to_instances_and_to_other_serverless_settings(
    aws: EmulatedAws,
) -> None:
    """AWS allows serverless -> serverless (new memory or concurrency) and serverless -> instances."""
    live_endpoint(aws, "fraud-ep", serverless_config(aws, "fraud-2gb", memory_mb=2048))
    serverless_config(aws, "fraud-4gb", memory_mb=4096)
    instance_config(aws, "fraud-c6g", "ml.c6g.large", 1)
    sagemaker = aws.client("sagemaker")

    sagemaker.update_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-4gb")
    bigger = describe_until_done(aws, "fraud-ep")[-1]
    sagemaker.update_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-c6g")
    on_instances = describe_until_done(aws, "fraud-ep")[-1]

    assert bigger["ProductionVariants"][0]["CurrentServerlessConfig"]["MemorySizeInMB"] == 4096
    assert on_instances["EndpointConfigName"] == "fraud-c6g"
    assert "CurrentServerlessConfig" not in on_instances["ProductionVariants"][0]
    assert on_instances["ProductionVariants"][0]["CurrentInstanceCount"] == 1


def test_retain_all_variant_properties_keeps_the_live_instance_count_unless_excluded(
    aws: EmulatedAws,
) -> None:
    """GIVEN an endpoint autoscaled to 4 instances and a config saying 1
    THEN RetainAllVariantProperties keeps 4; excluding DesiredInstanceCount takes the config's 1."""
    live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 2))
    instance_config(aws, "fraud-c6g", "ml.c6g.xlarge", 1)
    sagemaker = aws.client("sagemaker")
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName="fraud-ep",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 4}],
    )

    sagemaker.update_endpoint(
        EndpointName="fraud-ep", EndpointConfigName="fraud-c6g", RetainAllVariantProperties=True
    )
    retained = describe_until_done(aws, "fraud-ep")[-1]["ProductionVariants"][0]
    sagemaker.update_endpoint(
        EndpointName="fraud-ep",
        EndpointConfigName="fraud-c6g",
        RetainAllVariantProperties=True,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"}],
    )
    excluded = describe_until_done(aws, "fraud-ep")[-1]["ProductionVariants"][0]

    assert retained["CurrentInstanceCount"] == 4
    assert excluded["CurrentInstanceCount"] == 1


def test_the_number_of_describes_an_update_takes_is_settable_and_back_to_default_after_a_reset(
    aws: EmulatedAws,
) -> None:
    live_endpoint(aws, "fraud-ep", instance_config(aws, "fraud-c5", "ml.c5.xlarge", 2))
    instance_config(aws, "fraud-c6g", "ml.c6g.xlarge", 1)
    endpoint_updates.set_update_describes(4)
    endpoint_updates.fail_next_update("other-ep", "never used")

    aws.client("sagemaker").update_endpoint(EndpointName="fraud-ep", EndpointConfigName="fraud-c6g")
    statuses = [answer["EndpointStatus"] for answer in describe_until_done(aws, "fraud-ep")]
    aws.reset()

    assert statuses == ["Updating", "Updating", "Updating", "InService"]
    assert endpoint_updates.update_describes() == endpoint_updates.UPDATE_DESCRIBES
    with pytest.raises(ValueError, match=">= 1"):
        endpoint_updates.set_update_describes(0)


def test_describe_endpoint_reports_the_image_each_variant_deployed_and_an_update_redeploys_it(
    aws: EmulatedAws, valid_requests: RequestRecorder
) -> None:
    """GIVEN an endpoint on a model whose PrimaryContainer.Image is a tagged ECR image
    THEN DescribeEndpoint's variant reports DeployedImages [{SpecifiedImage: that image, ResolvedImage:
    the same repository pinned by a sha256 digest, ResolutionTime}] (botocore's DeployedImage shape), as
    AWS does and moto does not
    AND WHEN it is updated to a config on another model THEN it reports the old image while Updating
    and the new one once InService on the new config."""
    x86 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1"
    arm64 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1-arm64"
    sagemaker = aws.client("sagemaker")
    for name, image in (("xgb-x86", x86), ("xgb-arm64", arm64)):
        sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image})
    for config, model, instance_type in (
        ("c-x86", "xgb-x86", "ml.c5.xlarge"),
        ("c-arm", "xgb-arm64", "ml.c6g.xlarge"),
    ):
        sagemaker.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InstanceType": instance_type,
                    "InitialInstanceCount": 1,
                }
            ],
        )

    (variant,) = live_endpoint(aws, "embed-ep", "c-x86")["ProductionVariants"]

    (deployed,) = variant["DeployedImages"]
    assert deployed["SpecifiedImage"] == x86
    repository, _, digest = deployed["ResolvedImage"].partition("@sha256:")
    assert repository == x86.rpartition(":")[0] and len(digest) == 64
    assert deployed["ResolutionTime"] is not None

    sagemaker.update_endpoint(EndpointName="embed-ep", EndpointConfigName="c-arm")
    answers = describe_until_done(aws, "embed-ep")
    images = [
        (a["EndpointStatus"], a["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"])
        for a in answers
    ]
    assert images == [("Updating", x86), ("InService", arm64)]


def test_a_variant_without_a_model_of_its_own_reports_no_deployed_image(aws: EmulatedAws) -> None:
    """GIVEN an endpoint whose variant hosts inference components (no ModelName in the config)
    THEN its variant reports no DeployedImages (the components' containers report theirs)."""
    component_endpoint(aws, "llm-ep", "llm-7b")

    (variant,) = aws.client("sagemaker").describe_endpoint(EndpointName="llm-ep")["ProductionVariants"]

    assert "DeployedImages" not in variant


def test_remove_patches_undoes_the_endpoint_update_patches(emulated: EmulatedAws) -> None:
    """Every attribute patch r replaces is recorded by moto_patches' _replace, so remove_patches puts
    moto back: no UpdateEndpoint, moto's own DescribeEndpoint, and no settings left behind."""
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    recorded = {(owner, attribute): previous for owner, attribute, previous in moto_patches._replaced}

    assert recorded[(SageMakerResponse, "update_endpoint")] is moto_patches._MISSING
    assert recorded[(SageMakerResponse, "update_inference_component_runtime_config")] is moto_patches._MISSING
    assert recorded[(endpoint_updates, "_settings")] is None
    for owner, attribute in (
        (SageMakerResponse, "describe_endpoint"),
        (SageMakerModelBackend, "delete_endpoint"),
        (SageMakerModelBackend, "update_endpoint_weights_and_capacities"),
        (MotoAPIBackend, "reset"),
    ):
        assert recorded[(owner, attribute)] not in (moto_patches._MISSING, None)


# ---------------------------------------------------------------------------------------------------
# Scale to zero: inference components and Application Auto Scaling
# ---------------------------------------------------------------------------------------------------


def component_endpoint(aws: EmulatedAws, endpoint: str, component: str) -> None:
    """An endpoint hosting one inference component, its instances allowed to scale to zero."""
    ensure_model(aws)
    sagemaker = aws.client("sagemaker")
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{endpoint}-config",
        ExecutionRoleArn=ROLE,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.c6g.large",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 4},
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
    sagemaker.create_inference_component(
        InferenceComponentName=component,
        EndpointName=endpoint,
        VariantName="AllTraffic",
        Specification={
            "ModelName": MODEL,
            "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": 1},
    )


def test_an_inference_components_copy_count_goes_to_zero_and_back(
    aws: EmulatedAws, valid_requests: RequestRecorder
) -> None:
    """GIVEN an inference component with one copy
    WHEN UpdateInferenceComponentRuntimeConfig sets CopyCount 0, then 1
    THEN DescribeInferenceComponent's RuntimeConfig shows each (desired and current)."""
    component_endpoint(aws, "shared-cpu", "fraud-ic")
    sagemaker = aws.client("sagemaker")
    arn = sagemaker.describe_inference_component(InferenceComponentName="fraud-ic")["InferenceComponentArn"]

    answer = sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="fraud-ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    at_zero = sagemaker.describe_inference_component(InferenceComponentName="fraud-ic")
    sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="fraud-ic", DesiredRuntimeConfig={"CopyCount": 1}
    )
    back = sagemaker.describe_inference_component(InferenceComponentName="fraud-ic")

    assert answer["InferenceComponentArn"] == arn
    assert at_zero["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}
    assert back["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}
    assert back["LastModifiedTime"] >= at_zero["LastModifiedTime"]


def test_update_inference_component_runtime_config_refuses_an_unknown_component(aws: EmulatedAws) -> None:
    code, message = error_of(
        lambda: aws.client("sagemaker").update_inference_component_runtime_config(
            InferenceComponentName="nope", DesiredRuntimeConfig={"CopyCount": 0}
        )
    )

    assert code == "ValidationException"
    assert "Could not find inference component" in message


def test_scale_to_zero_targets_and_policies_are_accepted_for_components_and_variants(
    aws: EmulatedAws, valid_requests: RequestRecorder
) -> None:
    """Application Auto Scaling takes MinCapacity 0 on inference-component copies and variant
    instances, a step policy to scale out from zero and target tracking (predefined and customised)."""
    component_endpoint(aws, "shared-cpu", "fraud-ic")
    autoscaling = aws.client("application-autoscaling")
    component = ("inference-component/fraud-ic", "sagemaker:inference-component:DesiredCopyCount")
    variant = ("endpoint/shared-cpu/variant/AllTraffic", "sagemaker:variant:DesiredInstanceCount")
    for resource_id, dimension in (component, variant):
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=dimension,
            MinCapacity=0,
            MaxCapacity=4,
        )
    target = {"ServiceNamespace": "sagemaker", "ResourceId": component[0], "ScalableDimension": component[1]}

    autoscaling.put_scaling_policy(
        PolicyName="scale-out-from-zero",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Maximum",
            "Cooldown": 60,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
        **target,
    )
    autoscaling.put_scaling_policy(
        PolicyName="invocations-per-copy",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
            },
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
        **target,
    )
    autoscaling.put_scaling_policy(
        PolicyName="backlog-per-instance",
        PolicyType="TargetTrackingScaling",
        ServiceNamespace="sagemaker",
        ResourceId=variant[0],
        ScalableDimension=variant[1],
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": "AWS/SageMaker",
                "Dimensions": [{"Name": "EndpointName", "Value": "shared-cpu"}],
                "Statistic": "Average",
            },
        },
    )

    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert {(t["ResourceId"], t["MinCapacity"]) for t in targets} == {(component[0], 0), (variant[0], 0)}
    assert {(p["PolicyName"], p["PolicyType"]) for p in policies} == {
        ("scale-out-from-zero", "StepScaling"),
        ("invocations-per-copy", "TargetTrackingScaling"),
        ("backlog-per-instance", "TargetTrackingScaling"),
    }


# ---------------------------------------------------------------------------------------------------
# Schedules and alarms
# ---------------------------------------------------------------------------------------------------


def test_scheduled_actions_with_a_timezone_round_trip_and_delete(
    aws: EmulatedAws, valid_requests: RequestRecorder
) -> None:
    """GIVEN office-hours scheduled actions (cron, IANA Timezone) on a variant and on a component
    THEN DescribeScheduledActions returns their Schedule, Timezone and capacities; a deleted one is gone."""
    component_endpoint(aws, "shared-cpu", "fraud-ic")
    autoscaling = aws.client("application-autoscaling")
    variant = ("endpoint/shared-cpu/variant/AllTraffic", "sagemaker:variant:DesiredInstanceCount")
    component = ("inference-component/fraud-ic", "sagemaker:inference-component:DesiredCopyCount")
    for resource_id, dimension in (variant, component):
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=dimension,
            MinCapacity=0,
            MaxCapacity=4,
        )
    for name, schedule, zone, capacity in (
        ("evening-off", "cron(0 20 ? * MON-FRI *)", "Europe/Berlin", 0),
        ("morning-on", "cron(0 7 ? * MON-FRI *)", "Europe/Berlin", 1),
    ):
        autoscaling.put_scheduled_action(
            ServiceNamespace="sagemaker",
            ScheduledActionName=name,
            ResourceId=variant[0],
            ScalableDimension=variant[1],
            Schedule=schedule,
            Timezone=zone,
            ScalableTargetAction={"MinCapacity": capacity, "MaxCapacity": capacity},
        )
    autoscaling.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="evening-off",
        ResourceId=component[0],
        ScalableDimension=component[1],
        Schedule="cron(0 18 ? * MON-FRI *)",
        Timezone="America/New_York",
        ScalableTargetAction={"MinCapacity": 0, "MaxCapacity": 0},
    )

    listed = autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
    autoscaling.delete_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="morning-on",
        ResourceId=variant[0],
        ScalableDimension=variant[1],
    )
    after_delete = autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]

    assert {
        (
            a["ResourceId"],
            a["ScheduledActionName"],
            a["Schedule"],
            a["Timezone"],
            a["ScalableTargetAction"]["MinCapacity"],
        )
        for a in listed
    } == {
        (variant[0], "evening-off", "cron(0 20 ? * MON-FRI *)", "Europe/Berlin", 0),
        (variant[0], "morning-on", "cron(0 7 ? * MON-FRI *)", "Europe/Berlin", 1),
        (component[0], "evening-off", "cron(0 18 ? * MON-FRI *)", "America/New_York", 0),
    }
    assert {(a["ResourceId"], a["ScheduledActionName"]) for a in after_delete} == {
        (variant[0], "evening-off"),
        (component[0], "evening-off"),
    }


def test_alarms_on_sagemaker_variant_and_component_metrics_are_created_set_and_deleted(
    aws: EmulatedAws, valid_requests: RequestRecorder
) -> None:
    cloudwatch = aws.client("cloudwatch")
    put_rollback_alarm(aws, "fraud-ep")
    cloudwatch.put_metric_alarm(
        AlarmName="fraud-ic-no-capacity",
        Namespace="AWS/SageMaker",
        MetricName="NoCapacityInvocationFailures",
        Dimensions=[{"Name": "InferenceComponentName", "Value": "fraud-ic"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )

    cloudwatch.set_alarm_state(
        AlarmName="fraud-ic-no-capacity", StateValue="ALARM", StateReason="a call found no copy"
    )
    alarms = {
        alarm["AlarmName"]: alarm
        for alarm in cloudwatch.describe_alarms(AlarmNames=[ROLLBACK_ALARM, "fraud-ic-no-capacity"])[
            "MetricAlarms"
        ]
    }
    cloudwatch.delete_alarms(AlarmNames=[ROLLBACK_ALARM, "fraud-ic-no-capacity"])

    assert alarms[ROLLBACK_ALARM]["Dimensions"] == [
        {"Name": "EndpointName", "Value": "fraud-ep"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    assert alarms[ROLLBACK_ALARM]["StateValue"] == "OK"
    assert alarms["fraud-ic-no-capacity"]["Dimensions"] == [
        {"Name": "InferenceComponentName", "Value": "fraud-ic"}
    ]
    assert alarms["fraud-ic-no-capacity"]["StateValue"] == "ALARM"
    assert (
        cloudwatch.describe_alarms(AlarmNames=[ROLLBACK_ALARM, "fraud-ic-no-capacity"])["MetricAlarms"] == []
    )
