"""Park never acts on a stale signal and always keeps a whole way back; restore brings the endpoint back
from the snapshot its park recorded, whatever was deleted meanwhile. On the emulated AWS, with the
finding made by the real scanner and analyzer (no hand-made evidence)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from emulated_aws.fleet import put_invocations, redeploy
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.act.park import ActionRefused, RestoreFailed, recover, refused
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Action, Finding, ProposedAction, WayBack
from tests.integration.parkable import (
    NAME,
    NOW,
    TABLE,
    fresh,
    park,
    restore_parked,
    scanned_park_action,
    serving_state,
    table_of,
)


@pytest.fixture
def emulated(aws: EmulatedAws) -> Iterator[EmulatedAws]:
    fresh(aws)
    yield aws


@pytest.fixture
def action(emulated: EmulatedAws) -> ProposedAction:
    return scanned_park_action(emulated)


def table_item(aws: EmulatedAws, pk: str) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )["Items"]
    return list(items)


# ---- the re-check right before the change ------------------------------------------------------------
def test_endpoint_that_got_traffic_after_the_scan_is_not_parked(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN the endpoint started serving after the scan (9,812 requests in the hour before the click)
    before = serving_state(emulated)
    put_invocations(
        emulated.client("cloudwatch"),
        endpoint=NAME,
        variant="AllTraffic",
        at=NOW - timedelta(hours=1),
        count=9812.0,
    )
    # WHEN the approved park runs
    with pytest.raises(ActionRefused, match="in use since the scan: 9,812 invocations"):
        park(Clients(region=emulated.region), action)
    # THEN nothing changed and nothing was stored
    assert serving_state(emulated) == before
    assert table_item(emulated, f"SNAPSHOT#{NAME}") == []


def test_endpoint_redeployed_after_the_scan_is_not_parked(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    new_config = redeploy(emulated.client("sagemaker"), name=NAME, now=NOW - timedelta(hours=2))
    before = serving_state(emulated)
    with pytest.raises(ActionRefused, match="changed since the scan"):
        park(Clients(region=emulated.region), action)
    assert serving_state(emulated) == before
    assert before is not None and before["config"] == new_config


def test_endpoint_opted_out_after_the_scan_is_not_parked(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    sagemaker = emulated.client("sagemaker")
    arn = sagemaker.describe_endpoint(EndpointName=NAME)["EndpointArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "endpoint-optimizer:skip", "Value": " TRUE "}])
    with pytest.raises(ActionRefused, match="tagged endpoint-optimizer:skip=true"):
        park(Clients(region=emulated.region), action)
    assert serving_state(emulated) is not None


def test_traffic_that_cloudwatch_cannot_vouch_for_refuses_the_park(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN CloudWatch answers the re-check's query with StatusCode InternalError (no datapoints)
    clients = Clients(region=emulated.region)

    def incomplete(parsed: dict[str, Any], **_: Any) -> None:
        for result in parsed.get("MetricDataResults", []):
            result["StatusCode"] = "InternalError"

    clients.cloudwatch.meta.events.register("after-call.cloudwatch.GetMetricData", incomplete)
    # WHEN/THEN "no datapoints" is not read as "no traffic"
    with pytest.raises(ActionRefused, match="could not be read from CloudWatch"):
        park(clients, action)
    assert serving_state(emulated) is not None


def test_endpoint_whose_cpu_stopped_reporting_is_not_parked(aws: EmulatedAws) -> None:
    # GIVEN an idle endpoint whose CPUUtilization stopped 2 days before the approval: the scan (a day
    # earlier) still counted CPU on 13+ of 14 days and proposed the park, as a history carried forward would
    fresh(aws, cpu_stops_at=NOW - timedelta(days=2))
    action = scanned_park_action(aws)
    before = serving_state(aws)
    # WHEN the approved park starts (the apply workflow's Start)
    with pytest.raises(ActionRefused) as refusal:
        park(Clients(region=aws.region), action)
    # THEN it is refused with the reason, and nothing was deleted or stored
    assert str(refusal.value) == (
        f"{NAME}: CPUUtilization has not reported since 2026-11-28T11:00:00+00:00 on variant AllTraffic: "
        "an endpoint without its metrics cannot be told apart from an unmonitored one; left alone"
    )
    assert serving_state(aws) == before
    assert table_item(aws, f"SNAPSHOT#{NAME}") == []


def test_endpoint_whose_cpu_still_reports_is_parked(emulated: EmulatedAws, action: ProposedAction) -> None:
    # GIVEN the same idle endpoint with CPU reported up to the hour before the approval
    # WHEN the approved park starts THEN it is parked as before
    assert park(Clients(region=emulated.region), action).outcome == "applied"
    assert serving_state(emulated) is None


def test_finding_without_scan_facts_is_refused(emulated: EmulatedAws, action: ProposedAction) -> None:
    bare = action.model_copy(update={"finding": action.finding.model_copy(update={"scan": None})})
    with pytest.raises(ActionRefused, match="no scan facts"):
        park(Clients(region=emulated.region), bare)
    assert serving_state(emulated) is not None


# ---- the change and its way back -------------------------------------------------------------------------
def test_parked_way_back_holds_config_and_models_whole_and_never_expires_while_parked(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    clients = Clients(region=emulated.region)
    result = park(clients, action)
    assert result.outcome == "applied"
    (item,) = table_item(emulated, f"SNAPSHOT#{NAME}")
    assert "expiration" not in item  # the way back stays for as long as the endpoint is parked
    way_back = WayBack.model_validate_json(item["body"]["S"])
    assert way_back.endpoint_config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert [m["ModelName"] for m in way_back.models] == [
        way_back.endpoint_config["ProductionVariants"][0]["ModelName"]
    ]
    (entry,) = table_of(clients).ledger(NAME)
    assert entry.snapshot_taken_at == way_back.taken_at
    # AND once restored, the snapshot is history and starts to expire
    restore_parked(clients)
    (item,) = table_item(emulated, f"SNAPSHOT#{NAME}")
    assert "expiration" in item


def test_restore_recreates_the_config_and_model_deleted_while_parked(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN a parked endpoint whose config and model someone deleted while it was parked
    before = serving_state(emulated)
    clients = Clients(region=emulated.region)
    park(clients, action)
    sagemaker = emulated.client("sagemaker")
    way_back = table_of(clients).latest_way_back(NAME)
    assert way_back is not None
    sagemaker.delete_endpoint_config(EndpointConfigName=way_back.config_name)
    for model in way_back.models:
        sagemaker.delete_model(ModelName=model["ModelName"])
    # WHEN restore runs THEN the endpoint is back as it was, config and model recreated
    restore_parked(clients)
    assert serving_state(emulated) == before
    model = sagemaker.describe_model(ModelName=way_back.models[0]["ModelName"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == way_back.models[0]["PrimaryContainer"]["ModelDataUrl"]


def test_restore_says_exactly_what_is_missing_when_the_model_artifact_is_gone(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    clients = Clients(region=emulated.region)
    park(clients, action)
    way_back = table_of(clients).latest_way_back(NAME)
    assert way_back is not None
    url = way_back.models[0]["PrimaryContainer"]["ModelDataUrl"]
    bucket, key = url.removeprefix("s3://").split("/", 1)
    emulated.client("s3").delete_object(Bucket=bucket, Key=key)
    with pytest.raises(RestoreFailed, match=f"artifact {url} no longer exists"):
        restore_parked(clients)
    assert serving_state(emulated) is None  # nothing half-created


def test_restore_uses_the_snapshot_its_park_recorded_not_the_newest(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    before = serving_state(emulated)
    clients = Clients(region=emulated.region)
    park(clients, action)
    table = table_of(clients)
    recorded = table.latest_way_back(NAME)
    assert recorded is not None
    # a later snapshot of the same endpoint (e.g. from an attempt that was rolled back) with other limits
    stray = recorded.model_copy(
        update={
            "taken_at": NOW + timedelta(days=1),
            "scalable_targets": [
                t.model_copy(update={"max_capacity": 40}) for t in recorded.scalable_targets
            ],
        }
    )
    table.put_way_back(stray)
    restore_parked(clients)
    assert serving_state(emulated) == before


def test_parking_a_parked_endpoint_is_a_skip_that_saves_nothing(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    clients = Clients(region=emulated.region)
    first = park(clients, action)
    second = park(clients, action.model_copy(update={"action_id": "a2"}))
    assert (first.outcome, second.outcome) == ("applied", "skipped")
    assert second.estimated_monthly_savings_usd is None
    assert [e.outcome for e in table_of(clients).ledger(NAME)] == ["applied"]


def test_a_failed_delete_leaves_the_endpoint_serving_with_all_its_autoscaling(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN DeleteEndpoint fails (nothing deleted)
    before = serving_state(emulated)
    clients = Clients(region=emulated.region)

    def refuse_delete(**_: Any) -> None:
        raise clients.sagemaker.exceptions.ClientError(
            {"Error": {"Code": "InternalFailure", "Message": "injected"}}, "DeleteEndpoint"
        )

    clients.sagemaker.meta.events.register("before-call.sagemaker.DeleteEndpoint", refuse_delete)
    # WHEN park runs (and before any Catch of the workflow)
    with pytest.raises(Exception, match="injected"):
        park(clients, action)
    # THEN it serves as before, with its target, policy and scheduled action back
    assert serving_state(emulated) == before
    assert table_of(clients).ledger(NAME) == []


def test_a_delete_that_reports_success_but_leaves_the_endpoint_serving_is_rolled_back(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN DeleteEndpoint answers 200 without deleting anything
    before = serving_state(emulated)
    clients = Clients(region=emulated.region)

    def pretend_deleted(**_: Any) -> tuple[Any, dict[str, Any]]:
        return (SimpleNamespace(status_code=200), {"ResponseMetadata": {"HTTPStatusCode": 200}})

    clients.sagemaker.meta.events.register(
        "before-call.sagemaker.DeleteEndpoint",
        pretend_deleted,  # type: ignore[arg-type]  # a before-call answer short-circuits the call
    )
    with pytest.raises(RuntimeError, match="still serving after DeleteEndpoint"):
        park(clients, action)
    assert serving_state(emulated) == before
    assert table_of(clients).ledger(NAME) == []  # never recorded as parked


def test_restore_twice_refuses_the_second_time_without_touching_anything(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    clients = Clients(region=emulated.region)
    park(clients, action)
    restore_parked(clients)
    after = serving_state(emulated)
    with pytest.raises(RestoreFailed, match="nothing to restore"):
        restore_parked(clients)
    assert serving_state(emulated) == after


# ---- the workflow's Catch: finish or undo ----------------------------------------------------------------
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


class _Died(BaseException):
    """The function's process ended before the named call (no except clause runs)."""


def die_before(clients: Clients, operation: str, nth: int = 1) -> None:
    seen: list[str] = []

    def died(model: Any, **_: Any) -> None:
        seen.append(model.name)
        if model.name == operation and seen.count(operation) == nth:
            raise _Died(operation)

    for client in (clients.sagemaker, clients.autoscaling, clients.dynamodb):
        client.meta.events.register("before-call", died)


def recover_now(action: ProposedAction) -> Any:
    clients = Clients(region="us-east-1")
    return recover(
        clients.sagemaker,
        clients.autoscaling,
        table_of(clients),
        action,
        error="Lambda died",
        approved_by="U1",
        now=NOW,
    )


def test_recover_after_dying_before_the_delete_gives_the_autoscaling_back(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN a park that died after deregistering the scalable target, before DeleteEndpoint
    before = serving_state(emulated)
    clients = Clients(region=emulated.region)
    die_before(clients, "DeleteEndpoint")
    with pytest.raises(_Died):
        park(clients, action)
    assert serving_state(emulated) != before
    # WHEN the workflow's Catch runs
    result = recover_now(action)
    # THEN the endpoint serves as before, the run says so, and the snapshot starts to expire
    assert (result.outcome, result.estimated_monthly_savings_usd) == ("failed", None)
    assert result.detail == "rolled back: serving as before with its autoscaling (Lambda died)"
    assert serving_state(emulated) == before
    (intent,) = table_of(clients).intents(NAME)
    assert intent.state == "rolled_back"
    assert "expiration" in table_item(emulated, f"SNAPSHOT#{NAME}")[0]


def test_recover_after_dying_once_the_endpoint_was_deleted_records_the_park(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN a park that died right after DeleteEndpoint went through (no ledger entry yet)
    before = serving_state(emulated)
    clients = Clients(region=emulated.region)
    die_before(clients, "PutItem", nth=3)  # snapshot, intent, then the ledger entry
    with pytest.raises(_Died):
        park(clients, action)
    assert serving_state(emulated) is None
    # WHEN the Catch runs THEN the park is recorded once, with its savings, and restore brings it back
    result = recover_now(action)
    assert result.outcome == "applied"
    assert result.estimated_monthly_savings_usd == action.finding.estimated_monthly_savings_usd
    assert recover_now(action).outcome == "applied"  # a second Catch (retry) changes nothing
    (entry,) = table_of(clients).ledger(NAME)
    assert (entry.outcome, entry.monthly_cost_before_usd) == (
        "applied",
        action.finding.current_monthly_cost_usd,
    )
    restore_parked(Clients(region=emulated.region))
    assert serving_state(emulated) == before


def test_recover_when_nothing_was_changed_says_so(emulated: EmulatedAws, action: ProposedAction) -> None:
    before = serving_state(emulated)
    result = recover_now(action)
    assert (result.outcome, result.detail) == ("failed", "nothing was changed (Lambda died)")
    assert serving_state(emulated) == before


def test_restore_finds_the_snapshot_through_the_intent_when_the_park_died_before_its_ledger_entry(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN a park that died after the delete and before its ledger entry, and no Catch ran
    before = serving_state(emulated)
    clients = Clients(region=emulated.region)
    die_before(clients, "TransactWriteItems", nth=1)  # the ledger entry and its month index, written together
    with pytest.raises(_Died):
        park(clients, action)
    assert serving_state(emulated) is None  # the delete happened
    assert table_of(Clients(region=emulated.region)).ledger(NAME) == []
    # WHEN a person runs restore THEN the intent names the snapshot, and the endpoint is back
    restore_parked(Clients(region=emulated.region))
    assert serving_state(emulated) == before


def test_restore_refuses_to_start_when_the_image_in_our_own_registry_is_gone(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN a parked endpoint whose model runs an image of this account's ECR that was deleted since
    clients = Clients(region=emulated.region)
    park(clients, action)
    table = table_of(clients)
    way_back = table.latest_way_back(NAME)
    assert way_back is not None
    image = f"{emulated.account_id}.dkr.ecr.us-east-1.amazonaws.com/fraud-xgb:2026-11"
    models = [{**m, "PrimaryContainer": {**m["PrimaryContainer"], "Image": image}} for m in way_back.models]
    table.put_way_back(way_back.model_copy(update={"models": models}))
    emulated.client("sagemaker").delete_model(ModelName=models[0]["ModelName"])
    # WHEN restore runs THEN it names the missing image and creates nothing
    with pytest.raises(RestoreFailed, match=f"image {image} no longer exists in ECR"):
        restore_parked(clients)
    assert serving_state(emulated) is None
    # AND once the image is pushed again, the same restore goes through
    ecr = emulated.client("ecr")
    ecr.create_repository(repositoryName="fraud-xgb")
    ecr.put_image(
        repositoryName="fraud-xgb",
        imageTag="2026-11",
        imageManifest=json.dumps({"schemaVersion": 2, "mediaType": MANIFEST}),
    )
    restore_parked(clients)
    assert serving_state(emulated) is not None


def test_refusal_is_an_answer_with_no_savings() -> None:
    finding = Finding(
        endpoint_name="e",
        account_id="123456789012",
        region="us-east-1",
        action=Action.PARK,
        estimated_monthly_savings_usd=10.0,
    )
    result = refused(
        ProposedAction(action_id="a", finding=finding, mode="auto", approval_timeout_seconds=60), "why"
    )
    assert (result.outcome, result.detail, result.estimated_monthly_savings_usd) == ("refused", "why", None)


def test_a_request_in_the_minute_of_the_click_refuses_the_park(
    emulated: EmulatedAws, action: ProposedAction
) -> None:
    # GIVEN one request 20 seconds into the minute in which the approved park runs
    put_invocations(
        emulated.client("cloudwatch"),
        endpoint=NAME,
        variant="AllTraffic",
        at=NOW + timedelta(seconds=20),
        count=1.0,
    )
    # WHEN/THEN the re-check reads to the end of that minute, not only the minutes that have ended
    with pytest.raises(ActionRefused, match="in use since the scan: 1 invocations"):
        park(Clients(region=emulated.region), action, now=NOW + timedelta(seconds=30))
    assert serving_state(emulated) is not None
