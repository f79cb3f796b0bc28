"""Moves confirmed by Inference Recommender, on the emulated AWS: the real state machine ("Confirm moves"
after "Analyze endpoints"), the real analyze, recommend and notify handlers, the emulated IR (its jobs age
one tick per Describe: emulated time, no sleeping)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulated_aws.fleet import VariantSpec
from emulated_aws.rungs import (  # the same seeding the demo and the other e2e use
    OBSERVED_P99_MS,
    PAYLOAD_TAG,
    XGBOOST_X86,
    oversized_endpoint,
    put_sample_payload,
)
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack, deploy_stack
from endpoint_optimizer.models import Finding, Plan
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, start_run


def deploy(aws: EmulatedAws, slack: SlackReceiver, **parameters: str) -> Stack:
    """The stack, polling its recommender jobs without waiting (the template's minimum is 30 s)."""
    aws.reset()
    return deploy_stack(
        aws,
        REPO_ROOT,
        # Report mode unless a test says otherwise: these runs benchmark moves, nobody approves them here.
        parameters={"SlackApproverIds": APPROVER, "Mode": "report", **parameters},
        secrets={"SlackWebhookSecret": slack.webhook_url, "SlackSigningSecret": SIGNING_SECRET},
        environment={
            "RecommendFunction": {"RECOMMENDER_POLL_SECONDS": "0"},
            "ApplyFunction": {"APPLY_POLL_SECONDS": "0"},
        },
    )


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    with SlackReceiver() as receiver:
        yield receiver


def run(aws: EmulatedAws, stack: Stack, name: str) -> dict[str, Any]:
    described = aws.wait_for_execution(start_run(aws, stack, name), timeout_s=120)
    assert described["status"] == "SUCCEEDED", described
    output: dict[str, Any] = json.loads(described["output"])
    return output


def planned(aws: EmulatedAws, stack: Stack, output: dict[str, Any], endpoint: str) -> Finding:
    (summary,) = output["plans"]
    body = aws.client("s3").get_object(Bucket=stack.artifact_bucket, Key=summary["plan_key"])["Body"].read()
    (finding,) = [f for f in Plan.model_validate_json(body).findings if f.endpoint_name == endpoint]
    return finding


def report_text(aws: EmulatedAws, stack: Stack) -> str:
    return str(aws.published_sns_messages(stack.topic_arn)[0]["message"])


def test_an_oversized_endpoint_is_benchmarked_and_its_plan_offers_the_measured_option(
    aws: EmulatedAws, slack: SlackReceiver
) -> None:
    """GIVEN an ml.m5.xlarge endpoint at 10 % CPU, answering in 40 ms p99, with a sample payload tagged
    WHEN the scheduled run goes through "Confirm moves"
    THEN an Inference Recommender job benchmarked ml.m5.xlarge and ml.m5.large and completed, the plan in
    S3 offers 1 x ml.m5.large with the latency and cost the job measured (confidence high), and the run's
    report names the benchmarked option.
    """
    stack = deploy(aws, slack)
    put_sample_payload(aws)
    endpoint = oversized_endpoint(aws, "oversized-fraud-xgb")

    output = run(aws, stack, "confirm-oversized")

    (job,) = aws.recommender.jobs()
    assert job.request["InputConfig"]["ModelName"] == f"{endpoint}-alltraffic"
    benchmarked = [c["InstanceType"] for c in job.request["InputConfig"]["EndpointConfigurations"]]
    assert benchmarked == ["ml.m5.xlarge", "ml.m5.large"]
    finding = planned(aws, stack, output, endpoint)
    confirmation = finding.confirmation
    assert confirmation is not None
    assert (confirmation.job_name, confirmation.status) == (job.name, "COMPLETED")
    chosen = confirmation.chosen
    assert chosen is not None
    assert (chosen.instance_type, chosen.instance_count) == ("ml.m5.large", 1)
    measured = {o.instance_type: o for o in confirmation.options}
    assert chosen.model_latency_ms == measured["ml.m5.large"].model_latency_ms
    assert chosen.model_latency_ms is not None and chosen.model_latency_ms <= OBSERVED_P99_MS * 1.2
    today = measured["ml.m5.xlarge"].cost_per_hour
    assert chosen.cost_per_hour is not None and today is not None and chosen.cost_per_hour < today
    assert confirmation.baseline.observed_p99_latency_ms == OBSERVED_P99_MS
    assert (finding.action.value, finding.confidence) == ("rightsize", "high")
    assert finding.target is not None and "ml.m5.large" in finding.target
    assert finding.scan is not None  # the plan keeps its scan facts
    assert output["to_confirm"] == []  # folded into the plans, gone from the state
    report = report_text(aws, stack)
    assert "ml.m5.large" in report
    assert f"{chosen.model_latency_ms:.0f} ms" in report
    # AND the cost the job measured, per hour and per 1,000 inferences, next to today's
    assert chosen.cost_per_inference is not None
    assert f"${chosen.cost_per_hour:,.4f} per hour" in report
    assert f"${chosen.cost_per_inference * 1000:,.4f} per 1,000 inferences" in report
    # AND the run's Slack report carries the same measured option (until these moves are applied and get
    # an approval card of their own: issue 10)
    posted = json.dumps(slack.messages)
    assert "ml.m5.large" in posted and f"${chosen.cost_per_hour:,.4f} per hour" in posted


def test_a_candidate_slower_than_the_endpoint_today_is_not_offered(
    aws: EmulatedAws, slack: SlackReceiver
) -> None:
    """GIVEN an oversized endpoint that answers in 30 ms p99 today, whose model takes 40 ms on ml.m5.large
    WHEN the run benchmarks it
    THEN ml.m5.large is measured but not offered (it misses the latency threshold), nothing is chosen, and
    the finding says why with the measured numbers.
    """
    stack = deploy(aws, slack)
    put_sample_payload(aws)
    endpoint = oversized_endpoint(aws, "latency-bound-ranker", observed_p99_ms=30.0)

    output = run(aws, stack, "confirm-latency-bound")

    finding = planned(aws, stack, output, endpoint)
    confirmation = finding.confirmation
    assert confirmation is not None and confirmation.status == "COMPLETED"
    (large,) = [o for o in confirmation.options if o.instance_type == "ml.m5.large"]
    assert large.meets_latency is False
    assert confirmation.chosen is None
    assert any(reason.startswith("ml.m5.large: p99") for reason in finding.blocked_by)


def test_an_endpoint_without_a_sample_payload_stays_unconfirmed_and_says_how_to_add_one(
    aws: EmulatedAws, slack: SlackReceiver
) -> None:
    """GIVEN an oversized endpoint with neither the payload tag nor Data Capture
    WHEN the run reaches it
    THEN no job starts, and its plan says it is unconfirmed and how to add a payload.
    """
    stack = deploy(aws, slack)
    endpoint = oversized_endpoint(aws, "no-payload-churn", payload=False)

    output = run(aws, stack, "confirm-no-payload")

    assert aws.recommender.jobs() == []
    finding = planned(aws, stack, output, endpoint)
    assert finding.confirmation is not None and finding.confirmation.status == "NOT_STARTED"
    assert any(b.startswith("unconfirmed:") and PAYLOAD_TAG in b for b in finding.blocked_by)
    assert any("Data Capture" in reason for reason in finding.reasons)


def test_in_approve_mode_a_move_its_benchmark_did_not_confirm_is_never_sent_for_approval(
    aws: EmulatedAws, slack: SlackReceiver
) -> None:
    """GIVEN Mode=approve, an oversized endpoint with no sample payload (no job can run) and one whose
    ml.m5.large misses its latency (observed p99 30 ms: the benchmark refutes the move)
    WHEN the scheduled run goes through "Confirm moves" and "Record confirmations"
    THEN no approval card is posted and nothing is applied (the run has no action), and the report names
    both moves with why they wait (unconfirmed, or the measured miss).
    """
    from emulated_aws.loop import approval_cards

    stack = deploy(aws, slack, Mode="approve")
    put_sample_payload(aws)
    unconfirmed = oversized_endpoint(aws, "no-payload-churn", payload=False)
    refuted = oversized_endpoint(aws, "latency-bound-ranker", observed_p99_ms=30.0)

    output = run(aws, stack, "confirm-before-asking")

    assert (output["actions"], output["results"]) == ([], [])
    assert approval_cards(slack) == []
    report = report_text(aws, stack)
    assert f"{unconfirmed}" in report and "unconfirmed:" in report
    assert f"{refuted}" in report and "ml.m5.large: p99" in report


def test_a_recent_job_for_the_same_model_and_candidates_is_reused(
    aws: EmulatedAws, slack: SlackReceiver
) -> None:
    """GIVEN a run that benchmarked an oversized endpoint
    WHEN the next run confirms the same move (same model, same candidates, within RecommenderReuseDays)
    THEN no second job starts: the plan's confirmation is the first job's, marked reused.
    """
    stack = deploy(aws, slack)
    put_sample_payload(aws)
    endpoint = oversized_endpoint(aws, "steady-search")
    run(aws, stack, "confirm-first")
    (first,) = aws.recommender.jobs()

    output = run(aws, stack, "confirm-second")

    assert [job.name for job in aws.recommender.jobs()] == [first.name]
    confirmation = planned(aws, stack, output, endpoint).confirmation
    assert confirmation is not None
    assert (confirmation.job_name, confirmation.reused, confirmation.status) == (
        first.name,
        True,
        "COMPLETED",
    )


def test_the_spend_cap_defers_the_jobs_it_cannot_pay_for(aws: EmulatedAws, slack: SlackReceiver) -> None:
    """GIVEN two oversized endpoints whose benchmarks cost about $0.14 each, and MaxRecommenderSpendUSD 0.2
    WHEN the run chooses what to benchmark
    THEN one job runs, and the other move stays unconfirmed, deferred with the reason (MaxRecommenderSpendUSD).
    """
    stack = deploy(aws, slack, MaxRecommenderSpendUSD="0.2")
    put_sample_payload(aws)
    endpoints = [oversized_endpoint(aws, name) for name in ("oversized-a", "oversized-b")]

    output = run(aws, stack, "confirm-capped")

    (job,) = aws.recommender.jobs()
    statuses = {name: planned(aws, stack, output, name).confirmation for name in endpoints}
    benchmarked = [name for name, c in statuses.items() if c is not None and c.job_name == job.name]
    deferred = [name for name, c in statuses.items() if c is not None and c.status == "NOT_STARTED"]
    assert len(benchmarked) == 1 and len(deferred) == 1
    finding = planned(aws, stack, output, deferred[0])
    assert any("MaxRecommenderSpendUSD" in b for b in finding.blocked_by)


def test_the_confirmation_steps_call_exactly_what_the_recommend_functions_iam_grants(
    aws: EmulatedAws, slack: SlackReceiver
) -> None:
    """GIVEN an oversized endpoint with a payload, and the recommend function's settings from the stack
    WHEN its steps run one move through start, poll (to the end) and finish on recorded clients
    AND the same move's next job, held running with one of its two benchmarks done, through poll past its
    deadline, stop, poll (until it has stopped) and finish, as "Confirm moves" routes them
    AND a Graviton move of an x86 image (XGBoost 1.5-1, whose arm64 build is known) through start, poll
    and finish
    THEN a second start in the same minute carries on with the first's job (its name is taken: it is
    ours); the late job is stopped once, polled to STOPPED, and its finding stays unconfirmed with what
    its finished benchmark measured (an option, never chosen); the Graviton move is benchmarked on a
    throwaway eo-arm64-* model, deleted when it finishes;
    every SageMaker and CloudWatch call is one the registry derives for the function (which the template
    grants, tests/unit/test_template.py) and each derived permission is used; every request passes the
    botocore model's validation as AWS applies it.
    AND GIVEN a third oversized endpoint with no payload tag and Data Capture on (two captured requests)
    WHEN its move starts, and the confirmations are folded into the run's plan (the "merge" step)
    THEN its captured requests are packed under recommender/ in the artifact bucket and benchmarked;
    every S3 request of the steps is allowed by an S3 statement of RecommendFunction in template.yaml
    and every S3 action of those statements allows one of them.
    """
    from emulated_aws.botocore_validation import RequestRecorder
    from endpoint_optimizer.analysis import fold_confirmations, moves_to_confirm
    from endpoint_optimizer.confirm import workflow
    from endpoint_optimizer.decide.confirm.candidates import GRAVITON_REALTIME_SIZES
    from endpoint_optimizer.decide.pricing import bundled_price_book
    from endpoint_optimizer.infra.settings import RecommendSettings
    from endpoint_optimizer.models import FleetAnalysis
    from endpoint_optimizer.registry import confirm_permissions
    from tests.e2e.s3_grants import captured_record, enable_data_capture, grants_for, s3_grants

    stack = deploy(aws, slack, MaxRecommenderSpendUSD="0")  # the run benchmarks nothing itself
    put_sample_payload(aws)
    endpoint = oversized_endpoint(aws, "recorded-steps")
    x86 = VariantSpec(instance_type="ml.c5.xlarge", image=XGBOOST_X86)
    on_x86 = oversized_endpoint(aws, "recorded-graviton", variant=x86, cpu=200.0)  # 50 %: not a rightsize
    capture = oversized_endpoint(aws, "recorded-capture", payload=False)
    records = [captured_record("5.1,3.5,1.4,0.2"), captured_record("6.2,2.9,4.3,1.3")]
    enable_data_capture(aws, capture, "e2e-data-capture", records=records)
    execution = start_run(aws, stack, "confirm-recorded")  # its plan: the findings with their scan facts
    described = aws.wait_for_execution(execution, timeout_s=120)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    (summary,) = output["plans"]
    body = aws.client("s3").get_object(Bucket=stack.artifact_bucket, Key=summary["plan_key"])["Body"].read()
    analyzed = [f.model_copy(update={"confirmation": None}) for f in Plan.model_validate_json(body).findings]
    items = {
        move.finding.endpoint_name: move
        for move in moves_to_confirm(
            [(f, summary["plan_key"]) for f in analyzed], bundled_price_book(), 100.0
        )
    }
    # The bundled price book has no ml.c8g price, so the analysis defers this move (its benchmark's cost
    # cannot be held to the cap): these steps are about the job, so it is taken as admitted.
    item, graviton_item = items[endpoint], items[on_x86].model_copy(update={"deferred": None})
    assert graviton_item.finding.action.value == "migrate_graviton"
    capture_item = items[capture]
    assert capture_item.finding.action.value == "rightsize" and capture_item.deferred is None
    environment = {**stack.function_environment("RecommendFunction"), "AWS_REGION": aws.region}
    settings = RecommendSettings.from_env(environment)  # RecommenderReuseDays 30
    no_reuse = RecommendSettings.from_env({**environment, "RECOMMENDER_REUSE_DAYS": "0"})
    sagemaker, s3, cloudwatch = aws.client("sagemaker"), aws.client("s3"), aws.client("cloudwatch")
    recorder = RequestRecorder()
    for client in (sagemaker, cloudwatch, s3):
        recorder.attach(client)
    now = datetime.now(UTC)

    # a job run to the end, then found again and reused, then a second one stopped at its deadline
    job = workflow.start(sagemaker, s3, cloudwatch, item, settings=no_reuse, now=now)
    while not job.finished:
        job = workflow.poll(sagemaker, job, settings=no_reuse, now=now)
    completed = workflow.finish(sagemaker, job)
    same_minute = workflow.start(sagemaker, s3, cloudwatch, item, settings=no_reuse, now=now)
    reused = workflow.start(sagemaker, s3, cloudwatch, item, settings=settings, now=now)
    later = now + timedelta(minutes=1)  # another minute, another job name
    aws.recommender.hold_jobs(f"{endpoint}-alltraffic", benchmarked=1)  # ml.m5.xlarge done, ml.m5.large not
    late = workflow.start(sagemaker, s3, cloudwatch, item, settings=no_reuse, now=later)
    while late.status != "IN_PROGRESS":
        late = workflow.poll(sagemaker, late, settings=no_reuse, now=later)
    deadline = late.deadline
    assert deadline is not None, (late.job_name, late.reused)  # started now, not reused
    late = workflow.poll(sagemaker, late, settings=no_reuse, now=deadline)  # held: running at its deadline
    assert (late.finished, late.deadline_passed) == (False, True)
    late = workflow.stop(sagemaker, late)
    while not late.finished:  # "Check" -> "Wait" -> "Poll" until it has stopped
        late = workflow.poll(sagemaker, late, settings=no_reuse, now=deadline)
    stopped = workflow.finish(sagemaker, late)
    aws.recommender.hold_jobs(f"{endpoint}-alltraffic", held=False)
    on_graviton = workflow.start(sagemaker, s3, cloudwatch, graviton_item, settings=no_reuse, now=now)
    while not on_graviton.finished:
        on_graviton = workflow.poll(sagemaker, on_graviton, settings=no_reuse, now=now)
    graviton = workflow.finish(sagemaker, on_graviton)
    from_capture = workflow.start(sagemaker, s3, cloudwatch, capture_item, settings=no_reuse, now=now)
    analysis = FleetAnalysis.model_validate({"plans": output["plans"], "actions": []})
    folded = fold_confirmations(s3, stack.artifact_bucket, analysis, [completed, graviton], run_id=execution)

    assert completed.finding.endpoint_name == endpoint
    assert completed.finding.confirmation is not None and completed.finding.confirmation.status == "COMPLETED"
    assert (same_minute.job_name, same_minute.reused) == (job.job_name, True)
    assert (reused.job_name, reused.reused) == (job.job_name, True)
    assert late.job_name is not None and late.job_name != job.job_name, late.confirmation
    (late_job,) = [j for j in aws.recommender.jobs() if j.name == late.job_name]
    (measured,) = [b.metrics for b in late_job.benchmarks if b.status == "COMPLETED"]
    halted = stopped.finding.confirmation
    assert halted is not None and (halted.status, halted.chosen) == ("STOPPED", None)
    (option,) = halted.options
    assert measured is not None and (option.instance_type, option.instance_count) == ("ml.m5.xlarge", 1)
    assert (option.model_latency_ms, option.cost_per_hour) == (
        measured["ModelLatency"],
        measured["CostPerHour"],
    )
    why = (
        f"Inference Recommender job {late.job_name} stopped at its deadline after 1 of 2 benchmarks: "
        f"1 x ml.m5.xlarge: p99 {option.model_latency_ms:.0f} ms, up to {option.max_invocations:,} "
        f"invocations/min, ${option.cost_per_hour:.4f}/hour"
    )
    assert halted.reasons[0] == why
    assert f"unconfirmed: {why}" in stopped.finding.blocked_by
    assert stopped.finding.action.value == "rightsize" and "recommender_job" not in stopped.finding.evidence
    assert [r.params for r in recorder.of("StopInferenceRecommendationsJob")] == [{"JobName": late.job_name}]
    confirmation = graviton.finding.confirmation
    assert confirmation is not None and confirmation.status == "COMPLETED", confirmation
    assert confirmation.chosen is not None, confirmation.reasons
    assert (confirmation.chosen.instance_type or "").rpartition(".")[0] in GRAVITON_REALTIME_SIZES
    (benchmark,) = [r.params["ModelName"] for r in recorder.of("CreateModel")]
    assert benchmark.startswith("eo-arm64-")
    assert [r.params["ModelName"] for r in recorder.of("DeleteModel")] == [benchmark]
    called = {f"{r.service}:{r.operation}" for r in recorder.requests if r.service != "s3"}
    assert called == confirm_permissions()
    # S3: the packed Data Capture payload, the plan read and rewritten, against the template's grants
    assert from_capture.job_name is not None and not from_capture.finished, from_capture.confirmation
    (packed,) = [r.params for r in recorder.of("PutObject") if r.params["Key"].startswith("recommender/")]
    assert (packed["Bucket"], packed["Key"].rpartition("/")[0]) == (
        stack.artifact_bucket,
        f"recommender/{capture}",
    )
    (benchmarked,) = [
        r.params["InputConfig"]["ContainerConfig"]["PayloadConfig"]["SamplePayloadUrl"]
        for r in recorder.of("CreateInferenceRecommendationsJob")
        if r.params["JobName"] == from_capture.job_name
    ]
    assert benchmarked == f"s3://{packed['Bucket']}/{packed['Key']}"
    assert [p.plan_key for p in folded.plans] == [summary["plan_key"]]
    grants = s3_grants(stack)
    allowed = grants_for(
        [r for r in recorder.requests if r.service == "s3"], grants, account_id=aws.account_id
    )
    assert sorted(allowed) == sorted(
        [
            "ListObjectsV2 e2e-data-capture",
            f"GetObject e2e-data-capture/datacapture/{capture}/AllTraffic/2026/12/01/10/capture-0001.jsonl",
            f"PutObject {packed['Bucket']}/{packed['Key']}",
            f"GetObject {stack.artifact_bucket}/{summary['plan_key']}",
            f"PutObject {stack.artifact_bucket}/{summary['plan_key']}",
        ]
    )
    assert all(allowed.values()), {request: by for request, by in allowed.items() if not by}
    assert {name for by in allowed.values() for name in by} == {grant.name for grant in grants}
    assert benchmark not in {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    recorder.assert_all_valid()
