"""migrate_serverless through the apply workflow on the emulated AWS, from the finding the real scanner and
analyzer make of a sporadically used CPU endpoint: recreated with the same name on a serverless config in
its quietest hour, verified, undone back to the instance endpoint; a fault at any call ends serving as
before or at the verified target with its way back; and its refusals touch nothing."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulated_aws.fleet import (
    VariantSpec,
    create_endpoint,
    put_hourly_metrics,
    redeploy,
    register_scalable_target,
)
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.act import apply
from endpoint_optimizer.act.serverless import (
    MAX_SAMPLE_OBJECT_BYTES,
    SAMPLE_PAYLOAD_CONTENT_TYPE_TAG,
    STEPS,
    config_name_for,
    sample_request,
)
from endpoint_optimizer.confirm.payload import CONTENT_TYPE_TAG, pack_payload
from endpoint_optimizer.decide.plan import plan_for
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Action, ProposedAction
from endpoint_optimizer.scan.region import scan_region
from tests.integration.apply_driver import Trace, drive
from tests.integration.faults import MODES, Faults, LambdaDied, Mode, clients_for
from tests.integration.parkable import create_state_table, policy, serving_state, table_of

NAME = "sporadic-quarterly-report"
# Traffic at 10:00 and 14:00 UTC on two days of fourteen: the quietest hour of the profile is 00:00 UTC
# (no traffic, none in the hours either side), and the change is applied at 00:20 UTC.
NOW = datetime(2026, 11, 30, 0, 20, tzinfo=UTC)
SCANNED_AT = NOW - timedelta(hours=30)
LOOKBACK_HOURS = 14 * 24


def seed(aws: EmulatedAws, *, metrics: bool, tags: dict[str, str] | None = None) -> None:
    """The sporadic endpoint with a scalable target and policy (all that the move must give back)."""
    aws.reset()
    create_state_table(aws)
    create_endpoint(
        aws.client("sagemaker"),
        name=NAME,
        variants=[VariantSpec(instance_type="ml.m5.large")],
        tags={"team": "finance", **(tags or {})},
        created_days_ago=100,
        now=NOW,
    )
    register_scalable_target(aws.client("application-autoscaling"), NAME, "AllTraffic", 1, 2)
    if metrics:
        start = SCANNED_AT.replace(minute=0) - timedelta(hours=LOOKBACK_HOURS)
        invocations = [
            12.0 if (i // 24) in (2, 9) and (start + timedelta(hours=i)).hour in (10, 14) else 0.0
            for i in range(LOOKBACK_HOURS)
        ]
        put_hourly_metrics(
            aws.client("cloudwatch"),
            endpoint=NAME,
            variant="AllTraffic",
            start=start,
            hours=LOOKBACK_HOURS,
            invocations=invocations,
            cpu=[2.0] * LOOKBACK_HOURS,
            memory=[22.0] * LOOKBACK_HOURS,
        )


def scanned_action(aws: EmulatedAws, action_id: str = "sl-1") -> ProposedAction:
    snapshot = scan_region(
        Clients(region=aws.region), account_id=aws.account_id, lookback_days=14, now=SCANNED_AT
    )
    plan = plan_for(snapshot, bundled_price_book(), policy(), SCANNED_AT)
    (finding,) = [f for f in plan.findings if f.endpoint_name == NAME]
    assert finding.action == Action.MIGRATE_SERVERLESS, finding.reasons
    return ProposedAction(action_id=action_id, finding=finding, mode="auto", approval_timeout_seconds=3600)


@pytest.fixture(scope="module")
def scanned(aws: EmulatedAws) -> ProposedAction:
    """One scan for the module: every test rebuilds the same endpoint at the same fixed time."""
    seed(aws, metrics=True)
    return scanned_action(aws)


@pytest.fixture(autouse=True)
def _no_leftover(aws: EmulatedAws) -> Iterator[None]:
    yield
    aws.reset()


def state(aws: EmulatedAws) -> dict[str, Any] | None:
    """serving_state plus how the variant serves: its instances or its serverless size."""
    found = serving_state(aws, NAME)
    if found is None:
        return None
    described = aws.client("sagemaker").describe_endpoint(EndpointName=NAME)
    found["variants"] = [
        (v["VariantName"], v.get("CurrentInstanceCount"), str(v.get("CurrentServerlessConfig")))
        for v in described["ProductionVariants"]
    ]
    return found


def undo(aws: EmulatedAws, action_id: str) -> None:
    clients = clients_for(aws)
    table = table_of(clients)
    apply.undo(
        clients,
        table,
        STEPS,
        apply.applied_entry(table, action_id),
        now=NOW + timedelta(days=2),
        pause=lambda: None,
    )


# ---- (1) approve -> applied -> verified -> undo -> back to the original ----------------------------
def test_the_finding_names_the_size_and_the_quietest_hour_with_the_downtime(scanned: ProposedAction) -> None:
    # GIVEN the scan of an endpoint used at 10:00 and 14:00 UTC on two days of fourteen
    evidence = scanned.finding.evidence
    # THEN the card says the size, when it would be done and what it costs in service
    assert evidence["serverless_memory_mb"] == 3072
    assert evidence["max_concurrency"] == 1
    assert evidence["quiet_hour_utc"] == 0
    assert any("00:00-01:00 UTC" in reason for reason in scanned.finding.reasons)
    assert any("expected downtime" in reason for reason in scanned.finding.reasons)


def test_applied_verified_and_undone_back_to_the_instance_endpoint(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the scanned endpoint serving on one ml.m5.large with a scalable target and its policy
    seed(aws, metrics=False)
    before = state(aws)
    # WHEN the approved move runs in the quietest hour
    trace = Trace()
    result = drive(clients_for(aws), table_of(clients_for(aws)), STEPS, scanned, now=NOW, trace=trace)
    # THEN it is applied and verified: the same name, InService on a serverless config of the planned size
    assert result.outcome == "applied", result.detail
    assert "verified by status" in result.detail
    after = state(aws)
    assert after is not None
    assert after["config"] == config_name_for(NAME, scanned.action_id)
    assert after["variants"] == [("AllTraffic", None, str({"MemorySizeInMB": 3072, "MaxConcurrency": 1}))]
    assert after["tags"] == before["tags"] if before else False
    assert trace.states[-1] == "Verify"
    # WHEN it is undone
    undo(aws, scanned.action_id)
    # THEN the endpoint is back whole: instance config, tags, scalable target and policy; the serverless
    # config it no longer uses is gone
    assert state(aws) == before
    configs = aws.client("sagemaker").list_endpoint_configs()["EndpointConfigs"]
    assert config_name_for(NAME, scanned.action_id) not in {c["EndpointConfigName"] for c in configs}


def test_a_tagged_sample_payload_verifies_the_move_by_a_test_invocation(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the owner tagged a sample payload (inline JSON)
    seed(aws, metrics=False, tags={"endpoint-optimizer:sample-payload": '{"features": [1, 2, 3]}'})
    # WHEN the move runs
    result = drive(clients_for(aws), table_of(clients_for(aws)), STEPS, scanned, now=NOW)
    # THEN it is verified by invoking the serverless endpoint with it
    assert result.outcome == "applied", result.detail
    assert "test invocation" in result.detail


def tag_payload(aws: EmulatedAws, key: str, body: bytes) -> str:
    """The owner's sample payload put in S3 and tagged on the endpoint (after seed: it resets S3)."""
    s3, sagemaker = aws.client("s3"), aws.client("sagemaker")
    s3.create_bucket(Bucket="payloads-123456789012")
    s3.put_object(Bucket="payloads-123456789012", Key=key, Body=body)
    uri = f"s3://payloads-123456789012/{key}"
    sagemaker.add_tags(
        ResourceArn=sagemaker.describe_endpoint(EndpointName=NAME)["EndpointArn"],
        Tags=[{"Key": "endpoint-optimizer:sample-payload", "Value": uri}],
    )
    return uri


def test_a_benchmarked_moves_tar_gz_of_requests_verifies_the_move_with_its_first_request(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the tag names Inference Recommender's .tar.gz of requests (how confirm/payload.py packs it:
    # one file a request, typed by its extension), the payload the move was benchmarked with
    seed(aws, metrics=False)
    requests = [(b"5.1,3.5,1.4,0.2\n", "text/csv"), (b"6.2,2.9,4.3,1.3\n", "text/csv")]
    tag_payload(aws, "requests.tar.gz", pack_payload(requests))
    before = state(aws)
    # WHEN the move runs
    result = drive(clients_for(aws), table_of(clients_for(aws)), STEPS, scanned, now=NOW)
    # THEN the serverless endpoint answered a test invocation with the archive's first request, and the
    # change stays applied
    assert result.outcome == "applied", result.detail
    assert "the test invocation with the tagged sample payload answered" in result.detail
    after = state(aws)
    assert after is not None and after["config"] == config_name_for(NAME, scanned.action_id)
    assert after != before


def test_a_sample_payload_that_is_no_readable_archive_fails_verify_and_is_rolled_back(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the tag names a .tar.gz that is not one (garbage bytes under an archive's name)
    seed(aws, metrics=False)
    uri = tag_payload(aws, "requests.tar.gz", b"\x1f\x8b not an archive at all")
    before = state(aws)
    # WHEN the move runs
    result = drive(clients_for(aws), table_of(clients_for(aws)), STEPS, scanned, now=NOW)
    # THEN verify fails, saying why, and the move is rolled back: the instance endpoint serves as before
    assert result.outcome == "rolled_back", result.detail
    assert f"the sample payload {uri} gives no request to send" in result.detail
    assert state(aws) == before


def test_the_first_request_of_an_archive_is_sent_typed_by_the_tag_else_by_its_extension() -> None:
    # GIVEN an archive of two JSON Lines requests, as confirm/payload.py packs captured requests
    archive = pack_payload(
        [(b'{"a": 1}\n', "application/jsonlines"), (b'{"a": 2}\n', "application/jsonlines")]
    )
    # THEN the first request is sent, typed by its extension without the content-type tag
    assert sample_request("p/requests.tar.gz", archive, "application/gzip", None) == (
        b'{"a": 1}\n',
        "application/jsonlines",
    )
    # AND by the tag's first type when the owner tagged one (the same tag confirm/payload.py reads)
    assert SAMPLE_PAYLOAD_CONTENT_TYPE_TAG == CONTENT_TYPE_TAG
    assert sample_request("p/any-name", archive, None, "application/json, text/csv")[1] == "application/json"
    # AND an object that is no archive is the body itself, with its own ContentType
    assert sample_request("p/body.csv", b"1,2,3", "text/csv", "application/json") == (b"1,2,3", "text/csv")


def test_an_archive_cut_short_by_the_bounded_read_still_gives_its_first_request() -> None:
    # GIVEN an archive larger than verify reads, whose first request lies whole at its start
    first = b'{"features": [1, 2, 3]}'
    archive = pack_payload(
        [
            (first, "application/json"),
            (random.Random(7).randbytes(MAX_SAMPLE_OBJECT_BYTES), "application/json"),
        ]
    )
    assert len(archive) > MAX_SAMPLE_OBJECT_BYTES
    # WHEN only the bounded head of it is read, THEN the first request comes out whole
    assert sample_request("r.tgz", archive[: MAX_SAMPLE_OBJECT_BYTES + 1], None, None) == (
        first,
        "application/json",
    )


# ---- (2) a fault at every call ----------------------------------------------------------------------
def verdict(aws: EmulatedAws, before: dict[str, Any] | None, action_id: str) -> str:
    now = state(aws)
    if now == before:
        return "serving as before"
    table = table_of(clients_for(aws))
    applied = [e for e in table.ledger(NAME) if e.action_id == action_id]
    if now is None or not applied or applied[-1].outcome != "applied":
        return f"LOST ({now})"
    try:
        undo(aws, action_id)
    except Exception as error:  # reported in the table, asserted below
        return f"LOST (undo: {type(error).__name__}: {error})"
    return (
        "at the verified target, undone identically" if state(aws) == before else "LOST (undone differently)"
    )


def calls_of(aws: EmulatedAws, scanned: ProposedAction) -> list[str]:
    seed(aws, metrics=False)
    faults = Faults()
    clients = faults.attach(clients_for(aws))
    assert drive(clients, table_of(clients), STEPS, scanned, now=NOW).outcome == "applied"
    return list(faults.calls)


def trial(
    aws: EmulatedAws, scanned: ProposedAction, before: dict[str, Any] | None, mode: Mode, at: int
) -> str:
    seed(aws, metrics=False)
    faults = Faults(mode=mode, at=at)
    clients = faults.attach(clients_for(aws))
    try:
        drive(clients, table_of(clients), STEPS, scanned, now=NOW, faults=faults)
    except (LambdaDied, Exception) as error:  # the rollback itself failed: reported as lost
        return f"LOST (rollback: {type(error).__name__}: {error})"
    faults.active = False
    return verdict(aws, before, scanned.action_id)


def fault_points(calls: list[str]) -> list[tuple[Mode, int, str]]:
    """Every mode at every call from the way back's write on; at Start's reads before it, one mode: there
    the runner meets a death, an error, a lost reply and an outage alike (Start fails, nothing stored), and
    the file stays within a minute on one core."""
    first_write = calls.index("PutItem") + 1
    return [
        (mode, k, call)
        for k, call in enumerate(calls, 1)
        for mode in (MODES if k >= first_write else ("errors",))
    ]


@pytest.mark.faults
def test_no_fault_at_any_call_loses_the_endpoint(
    aws: EmulatedAws, scanned: ProposedAction, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN every AWS call of a fault-free move, WHEN each kind of fault hits each call in turn
    calls = calls_of(aws, scanned)
    seed(aws, metrics=False)
    before = state(aws)  # every trial starts from this same endpoint
    rows = [(mode, k, call, trial(aws, scanned, before, mode, k)) for mode, k, call in fault_points(calls)]
    with capsys.disabled():
        print(
            f"\nmigrate_serverless: {len(rows)} trials over {len(calls)} calls; "
            + ", ".join(f"{v}: {n}" for v, n in Counter(r[3] for r in rows).items())
        )
    # THEN every trial ends serving as before, or at the verified target and undone identically: 0 lost
    assert [row for row in rows if row[3].startswith("LOST")] == []
    # and the change calls themselves were among those hit, in every mode
    hit = {(row[0], row[2]) for row in rows}
    for call in ("CreateEndpointConfig", "DeregisterScalableTarget", "DeleteEndpoint", "CreateEndpoint"):
        assert {(mode, call) for mode in MODES} <= hit


# ---- (3) refusals touch nothing ----------------------------------------------------------------------
def refused(aws: EmulatedAws, action: ProposedAction, *, now: datetime = NOW) -> str:
    before = state(aws)
    result = drive(clients_for(aws), table_of(clients_for(aws)), STEPS, action, now=now)
    assert result.outcome == "refused", result.detail
    assert state(aws) == before
    assert table_of(clients_for(aws)).intents(NAME) == []
    return result.detail


def test_an_approval_outside_its_quietest_hour_waits_for_it_and_changes_nothing_before(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    seed(aws, metrics=False)
    before = state(aws)
    clients = clients_for(aws)
    # WHEN the approval comes at 09:20 UTC, not in 00:00-01:00 UTC
    change = apply.start(
        clients,
        table_of(clients),
        scanned,
        steps=STEPS,
        mode="auto",
        auto_applies=True,
        skip_tag_key="endpoint-optimizer:skip",
        now=NOW + timedelta(hours=9),
    )
    # THEN the workflow waits until the next 00:00 UTC ("Wait for the quiet hour"), and nothing changed yet
    assert change.result is None
    assert change.act_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert change.deadline > change.act_at
    assert state(aws) == before
    # WHEN someone redeploys it while the change waits, THEN Act refuses to go on and nothing is changed
    redeploy(aws.client("sagemaker"), name=NAME, now=NOW + timedelta(hours=10))
    redeployed = state(aws)
    with pytest.raises(apply.ChangeFailed, match="changed while the change waited"):
        apply.act(clients, table_of(clients), STEPS, change)
    assert state(aws) == redeployed


def test_a_skip_tag_added_since_the_scan_is_refused(aws: EmulatedAws, scanned: ProposedAction) -> None:
    seed(aws, metrics=False, tags={"endpoint-optimizer:skip": "true"})
    assert "endpoint-optimizer:skip" in refused(aws, scanned)


def test_an_endpoint_redeployed_since_the_scan_is_refused(aws: EmulatedAws, scanned: ProposedAction) -> None:
    # GIVEN someone redeployed it after the scan
    seed(aws, metrics=False)
    redeploy(aws.client("sagemaker"), name=NAME, now=NOW - timedelta(hours=2))
    assert "since the scan" in refused(aws, scanned)


def test_a_full_serverless_quota_is_refused_with_the_numbers(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the account already runs 5 serverless endpoints (Service Quotas lists none here: the lowest
    # starting quota seen, 5, applies)
    seed(aws, metrics=False)
    for n in range(5):
        create_endpoint(
            aws.client("sagemaker"),
            name=f"faq-{n}",
            variants=[
                VariantSpec(instance_type=None, serverless_memory_mb=1024, serverless_max_concurrency=1)
            ],
            tags={},
            created_days_ago=10,
            now=NOW,
        )
    assert "the account has 5 serverless endpoints and may have 5" in refused(aws, scanned)


def test_a_sample_payload_tag_that_is_neither_s3_nor_json_is_refused(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    seed(aws, metrics=False, tags={"endpoint-optimizer:sample-payload": "features=1,2,3"})
    assert "s3://bucket/key URI or inline JSON" in refused(aws, scanned)


def test_data_capture_switched_on_is_refused(aws: EmulatedAws, scanned: ProposedAction) -> None:
    # GIVEN the config (same name, as scanned) now captures data: serverless does not support it
    seed(aws, metrics=False)
    from moto.backends import get_backend

    assert scanned.finding.scan is not None
    backend = get_backend("sagemaker")[aws.account_id][aws.region]
    config = backend.endpoint_configs[scanned.finding.scan.config_name]
    config.data_capture_config = {"EnableCapture": True, "InitialSamplingPercentage": 10}
    assert "data capture" in refused(aws, scanned)
