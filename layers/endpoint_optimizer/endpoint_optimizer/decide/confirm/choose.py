"""Reading a finished Inference Recommender job: each measured option sized to the observed peak, the
cheapest that meets the latency threshold and carries the peak with headroom (count included), and the
finding confirmed, downgraded or left unconfirmed with the measured reason."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from endpoint_optimizer.decide.confirm.candidates import arm64_build_of, blockers_a_benchmark_clears
from endpoint_optimizer.decide.confirm.job import latency_threshold_ms, required_invocations_per_minute
from endpoint_optimizer.decide.confirm.thresholds import (
    LATENCY_MARGIN,
    MAX_INSTANCES_PER_OPTION,
    PRICE_MISMATCH_TOLERANCE,
    SAMPLE_PAYLOAD_TAG,
    THROUGHPUT_HEADROOM,
)
from endpoint_optimizer.decide.pricing import PriceBook
from endpoint_optimizer.decide.signals import instance_specs
from endpoint_optimizer.models import (
    COMPLETED,
    HOURS_PER_MONTH,
    NOT_STARTED,
    Action,
    Baseline,
    BenchmarkOption,
    Confidence,
    Confirmation,
    Finding,
)

PENDING_CONFIRMATION = "to be confirmed by an Inference Recommender job"  # the rightsize rung's words
# A reason about one measured option starts with its name: "ml.c7g.xlarge: p99 41 ms > 30 ms ...".
MEASURED = re.compile(r"^(ml\.[a-z0-9-]+\.[a-z0-9]+|serverless \d+ MB): ")


def _number(value: Any) -> float | None:
    """A metric as a float; None for a missing value or NaN (IR reports NaN utilisation and setup time)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def missing_payload_how_to(endpoint_name: str) -> str:
    """What the finding says when no sample payload could be found for `endpoint_name`."""
    return (
        f"no sample payload for {endpoint_name}: tag the endpoint {SAMPLE_PAYLOAD_TAG}=s3://<bucket>/<key>.tar.gz "
        "(a .tar.gz of sample request bodies) or enable Data Capture (DataCaptureConfig, input captured) on "
        "its endpoint config so captured requests can be sampled"
    )


def not_started(baseline: Baseline, reason: str) -> Confirmation:
    """A confirmation for which no job could start: no payload, an unknown image, the spend cap, the
    account's endpoint quota. The finding stays unconfirmed and says `reason`."""
    return Confirmation(job_name=None, status=NOT_STARTED, baseline=baseline, reasons=[reason])


def _threshold(
    threshold: float | None, baseline: Baseline, recommendations: Sequence[Mapping[str, Any]]
) -> tuple[float | None, str]:
    """The latency threshold and how it was set: given, today's observed p99 x margin, or, when p99 was
    not observed, the job's own measurement of today's instance type x margin."""
    margin = f"+ {(LATENCY_MARGIN - 1) * 100:.0f} %"
    if threshold is not None:
        return threshold, "threshold"
    if (observed := latency_threshold_ms(baseline)) is not None:
        return observed, f"observed p99 {_ms(baseline.observed_p99_latency_ms or 0)} ms {margin}"
    for item in recommendations:
        config = item.get("EndpointConfiguration") or {}
        latency = _number((item.get("Metrics") or {}).get("ModelLatency"))
        if config.get("InstanceType") == baseline.instance_type and latency is not None:
            return (
                latency * LATENCY_MARGIN,
                f"{baseline.instance_type} benchmarked at {_ms(latency)} ms {margin}",
            )
    return None, "no latency threshold"


def _option(
    item: Mapping[str, Any],
    threshold: float | None,
    required: float | None,
    average_invocations_per_hour: float | None,
) -> BenchmarkOption:
    metrics = item.get("Metrics") or {}
    config = item.get("EndpointConfiguration") or {}
    tested = max(1, int(config.get("InitialInstanceCount") or 1))
    cost = _number(metrics.get("CostPerHour"))
    per_inference = _number(metrics.get("CostPerInference"))
    latency = _number(metrics.get("ModelLatency"))
    invocations = _number(metrics.get("MaxInvocations"))
    meets_latency = latency is not None and threshold is not None and latency <= threshold
    serverless = config.get("ServerlessConfig")
    if serverless:
        hourly = (
            per_inference * average_invocations_per_hour
            if per_inference is not None and average_invocations_per_hour is not None
            else cost
        )
        return BenchmarkOption(
            serverless_memory_mb=int(serverless["MemorySizeInMB"]),
            cost_per_hour=hourly,
            cost_per_inference=per_inference,
            model_latency_ms=latency,
            max_invocations=None if invocations is None else int(invocations),
            meets_latency=meets_latency,
            meets_throughput=invocations is not None and required is not None and invocations >= required,
        )
    per_instance = None if invocations is None else invocations / tested
    count, carries = tested, False
    if per_instance and required is not None:
        count = max(1, math.ceil(required / per_instance))
        carries = count <= MAX_INSTANCES_PER_OPTION
        count = min(count, MAX_INSTANCES_PER_OPTION)
    return BenchmarkOption(
        instance_type=config.get("InstanceType"),
        instance_count=count,
        cost_per_hour=None if cost is None else cost / tested * count,
        cost_per_inference=per_inference,
        model_latency_ms=latency,
        max_invocations=None if per_instance is None else math.floor(per_instance * count),
        meets_latency=meets_latency,
        meets_throughput=carries,
    )


def _rejection(option: BenchmarkOption, threshold: float | None, basis: str, required: float | None) -> str:
    if option.model_latency_ms is None:
        return f"{option.name}: no latency measured"
    if threshold is None:
        return f"{option.name}: p99 {_ms(option.model_latency_ms)} ms, no threshold to judge it by"
    if not option.meets_latency:
        return f"{option.name}: p99 {_ms(option.model_latency_ms)} ms > {_ms(threshold)} ms ({basis})"
    if required is None:
        return f"{option.name}: throughput not judged (observed peak invocations per minute unknown)"
    if option.max_invocations is None:
        return f"{option.name}: no throughput measured"
    most = (
        f"even on {option.instance_count} instances" if option.serverless_memory_mb is None else "serverless"
    )
    return (
        f"{option.name}: {option.max_invocations:,} invocations/min {most} < {required:,.0f} needed "
        f"(observed peak x {THROUGHPUT_HEADROOM:g})"
    )


def _is_today(option: BenchmarkOption, baseline: Baseline) -> bool:
    return option.instance_type == baseline.instance_type and option.serverless_memory_mb is None


def today_hourly_cost(confirmation: Confirmation) -> float | None:
    """Today's configuration at the job's price: the benchmarked cost of one current instance x the count."""
    baseline = confirmation.baseline
    for option in confirmation.options:
        if _is_today(option, baseline) and option.cost_per_hour is not None:
            return option.cost_per_hour / option.instance_count * baseline.instance_count
    return None


def _why_not_completed(answer: Mapping[str, Any], options: Sequence[BenchmarkOption], deadline: bool) -> str:
    """Why the job did not complete and what its finished benchmarks measured: "unconfirmed: ..."."""
    job, status = f"Inference Recommender job {answer.get('JobName')}", str(answer.get("Status"))
    stopped = "stopped at its deadline" if deadline else "was stopped before it completed"
    failure = answer.get("FailureReason") or "no reason given"
    why = {"FAILED": f"{job} failed: {failure}", "STOPPED": f"{job} {stopped}"}.get(
        status, f"{job} is {status}"
    )
    if not options:
        return why
    planned = len((answer.get("InputConfig") or {}).get("EndpointConfigurations") or [])
    measured = "; ".join(
        f"{o.label}: p99 {'not measured' if o.model_latency_ms is None else f'{_ms(o.model_latency_ms)} ms'}, "
        f"up to {o.max_invocations or 0:,} invocations/min, ${o.cost_per_hour or 0:.4f}/hour"
        for o in options
    )
    return f"{why} after {len(options)} of {max(planned, len(options))} benchmarks: {measured}"


def confirmation_from(
    describe_response: Mapping[str, Any],
    baseline: Baseline,
    threshold: float | None = None,
    headroom: float = THROUGHPUT_HEADROOM,
    *,
    average_invocations_per_hour: float | None = None,
    failed_benchmarks: Sequence[Mapping[str, Any]] = (),
    finished_benchmarks: Sequence[Mapping[str, Any]] = (),
    stopped_at_deadline: bool = False,
    reused: bool = False,
) -> Confirmation:
    """The job's verdict from DescribeInferenceRecommendationsJob's response.

    `threshold` (ms) defaults to today's observed p99 x LATENCY_MARGIN; `headroom` multiplies the observed
    peak per minute. `average_invocations_per_hour` prices serverless options per use.
    `failed_benchmarks`: ListInferenceRecommendationsJobSteps' Steps, whose failures are named.
    `finished_benchmarks`: the COMPLETED steps of a job that did not complete (stopped at its deadline
    when `stopped_at_deadline`, or failed): its options and first reason, nothing chosen."""
    name = describe_response.get("JobName")
    status = str(describe_response.get("Status") or "UNKNOWN")
    completed = status == COMPLETED
    steps = [step.get("InferenceBenchmark") or {} for step in finished_benchmarks]
    recommendations = describe_response.get("InferenceRecommendations") or [] if completed else steps
    limit, basis = _threshold(threshold, baseline, recommendations)
    required = required_invocations_per_minute(baseline, headroom)
    options = [_option(item, limit, required, average_invocations_per_hour) for item in recommendations]
    reasons = [_rejection(option, limit, basis, required) for option in options if not option.meets]
    if not completed:
        reasons.insert(0, _why_not_completed(describe_response, options, stopped_at_deadline))
        return Confirmation(
            job_name=name, status=status, baseline=baseline, options=options, reasons=reasons, reused=reused
        )
    for step in failed_benchmarks:
        benchmark = step.get("InferenceBenchmark") or {}
        if step.get("Status") == "FAILED" or benchmark.get("FailureReason"):
            config = benchmark.get("EndpointConfiguration") or {}
            memory = (config.get("ServerlessConfig") or {}).get("MemorySizeInMB")
            label = f"serverless {memory} MB" if memory else config.get("InstanceType", "a candidate")
            reasons.append(
                f"{label}: benchmark failed: {benchmark.get('FailureReason') or 'no reason given'}"
            )
    today = today_hourly_cost(Confirmation(job_name=name, status=status, baseline=baseline, options=options))
    eligible = [
        option
        for option in options
        if option.meets
        and option.cost_per_hour is not None
        and not (_is_today(option, baseline) and option.instance_count >= baseline.instance_count)
        and (today is None or option.cost_per_hour < today)
    ]
    chosen = min(eligible, key=lambda o: (o.cost_per_hour or 0.0, o.instance_count, o.name), default=None)
    if chosen is None:
        reasons.append(
            "no option met the latency threshold, carried the observed peak and cost less than today"
        )
    else:
        reasons.append(
            f"chosen {chosen.label}: p99 {_ms(chosen.model_latency_ms or 0)} ms within {_ms(limit or 0)} ms "
            f"({basis}), up to {chosen.max_invocations or 0:,} invocations/min for {required or 0:,.0f} needed, "
            f"${chosen.cost_per_hour or 0:.4f}/hour"
        )
    return Confirmation(
        job_name=name,
        status=status,
        baseline=baseline,
        options=options,
        chosen=chosen,
        reasons=reasons,
        reused=reused,
    )


def measured_rejections(confirmation: Confirmation) -> list[str]:
    """The reasons naming a measured option that was not chosen ("ml.c7g.xlarge: p99 41 ms > 30 ms ...")."""
    return [reason for reason in confirmation.reasons if MEASURED.match(reason)]


def _kept_reasons(finding: Finding, confirmation: Confirmation) -> list[str]:
    kept = [reason for reason in finding.reasons if not reason.startswith(PENDING_CONFIRMATION)]
    return kept + [reason for reason in confirmation.reasons if reason not in kept]


def _unconfirmed(finding: Finding, confirmation: Confirmation) -> Finding:
    why = (
        confirmation.reasons[0]
        if confirmation.reasons
        else f"Inference Recommender job {confirmation.status}"
    )
    return finding.model_copy(
        update={
            "reasons": _kept_reasons(finding, confirmation),
            "blocked_by": [*finding.blocked_by, f"unconfirmed: {why}"],
            "confirmation": confirmation,
        }
    )


def _downgraded(finding: Finding, confirmation: Confirmation, why: str | None = None) -> Finding:
    measured = measured_rejections(confirmation)
    summary = why or f"not confirmed by Inference Recommender job {confirmation.job_name}"
    return finding.model_copy(
        update={
            "confidence": "low",
            "reasons": [*_kept_reasons(finding, confirmation), summary],
            "blocked_by": [*finding.blocked_by, *(measured or [summary])],
            "evidence": {**finding.evidence, "recommender_job": confirmation.job_name},
            "confirmation": confirmation,
        }
    )


def _action_for(option: BenchmarkOption, baseline: Baseline, current: Action) -> Action:
    if option.serverless_memory_mb is not None:
        return Action.MIGRATE_SERVERLESS
    specs = instance_specs()
    before = specs.get(baseline.instance_type or "")
    after = specs.get(option.instance_type or "")
    if before is None or after is None:
        return current
    return Action.MIGRATE_GRAVITON if before.architecture != after.architecture else Action.RIGHTSIZE


def _target(option: BenchmarkOption, finding: Finding, baseline: Baseline) -> str:
    today = f"{baseline.instance_count} x {baseline.instance_type}"
    if option.serverless_memory_mb is None:
        return f"{option.label} (from {today})"
    concurrency = re.search(r"MaxConcurrency \d+", finding.target or "")
    extra = f", {concurrency[0]}" if concurrency else ""
    return f"Serverless Inference {option.serverless_memory_mb} MB{extra} (from {today})"


def _savings(
    finding: Finding, confirmation: Confirmation, prices: PriceBook
) -> tuple[float | None, Confidence, list[str]]:
    """Monthly savings from the job's CostPerHour, cross-checked with the price book: beyond
    PRICE_MISMATCH_TOLERANCE the lower of the two is reported and confidence is "medium"."""
    chosen, baseline = confirmation.chosen, confirmation.baseline
    assert chosen is not None and chosen.cost_per_hour is not None
    today_price = prices.hourly(finding.region, baseline.instance_type or "")
    book_today = None if today_price is None else today_price.usd_per_hour * baseline.instance_count
    chosen_price = prices.hourly(finding.region, chosen.instance_type or "") if chosen.instance_type else None
    book_chosen = None if chosen_price is None else chosen_price.usd_per_hour * chosen.instance_count
    job_today = today_hourly_cost(confirmation)
    if job_today is None:
        if book_today is None:
            return None, "high", ["savings unknown: today's instance type was neither benchmarked nor priced"]
        notes = ["today's cost is the price book's (today's instance type was not benchmarked)"]
        return (book_today - chosen.cost_per_hour) * HOURS_PER_MONTH, "high", notes
    job = (job_today - chosen.cost_per_hour) * HOURS_PER_MONTH
    if book_today is None or book_chosen is None:
        return job, "high", ["savings from the job's CostPerHour (the price book has no price to check them)"]
    book = (book_today - book_chosen) * HOURS_PER_MONTH
    gap = abs(job - book) / max(abs(job), abs(book), 1e-9)
    if gap <= PRICE_MISMATCH_TOLERANCE:
        return job, "high", []
    return (
        min(job, book),
        "medium",
        [
            f"price check: the job's CostPerHour gives ${job:,.2f}/month, the price book ${book:,.2f}/month "
            f"({gap:.0%} apart, over {PRICE_MISMATCH_TOLERANCE:.0%}): the lower is reported"
        ],
    )


def confirm(finding: Finding, confirmation: Confirmation, prices: PriceBook) -> Finding:
    """`finding` (as the analysis made it) with the benchmark's verdict.

    - COMPLETED with a chosen option: target, action, savings, confidence "high" ("medium" when the job's
      price and the price book disagree) and the measured numbers in the evidence.
    - COMPLETED, nothing chosen: confidence "low", each measured reason in `blocked_by`.
    - NOT_STARTED, FAILED, STOPPED or still running: the finding as it was, the reason in `reasons` and
      "unconfirmed: <reason>" in `blocked_by`."""
    if confirmation.status != COMPLETED:
        return _unconfirmed(finding, confirmation)
    chosen = confirmation.chosen
    if chosen is None:
        return _downgraded(finding, confirmation)
    savings, confidence, notes = _savings(finding, confirmation, prices)
    if savings is not None and savings <= 0:
        why = f"the benchmark's cheapest option ({chosen.label}) saves nothing by the price book"
        return _downgraded(finding, confirmation, why)
    baseline = confirmation.baseline
    reused = " (a recent job, reused)" if confirmation.reused else ""
    cleared = blockers_a_benchmark_clears(finding)
    if cleared:
        notes = [*notes, f"benchmarked on the arm64 build {arm64_build_of(finding)}, which the move deploys"]
    return finding.model_copy(
        update={
            "blocked_by": [blocker for blocker in finding.blocked_by if blocker not in cleared],
            "action": _action_for(chosen, baseline, finding.action),
            "target": _target(chosen, finding, baseline),
            "estimated_monthly_savings_usd": None if savings is None else round(savings, 2),
            "confidence": confidence,
            "reasons": [
                *_kept_reasons(finding, confirmation),
                f"confirmed by Inference Recommender job {confirmation.job_name}{reused}",
                *notes,
            ],
            "evidence": {
                **finding.evidence,
                "recommender_job": confirmation.job_name,
                "benchmark_p99_latency_ms": chosen.model_latency_ms,
                "benchmark_max_invocations_per_minute": chosen.max_invocations,
                "benchmark_cost_per_hour": chosen.cost_per_hour,
                "observed_p99_latency_ms": baseline.observed_p99_latency_ms,
                "observed_peak_invocations_per_minute": baseline.observed_peak_invocations_per_minute,
            },
            "confirmation": confirmation,
        }
    )
