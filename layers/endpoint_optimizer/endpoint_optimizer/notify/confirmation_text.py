"""How a benchmark reads to a person: what Inference Recommender measured (latency, throughput, cost per
hour and per 1,000 inferences) next to what the endpoint does today, for the approval card, the HTML
report and plain text. Nothing here decides: the finding and its confirmation are taken as they are."""

from __future__ import annotations

from html import escape

from endpoint_optimizer.decide.confirm import measured_rejections, today_hourly_cost
from endpoint_optimizer.models import COMPLETED, HOURS_PER_MONTH, BenchmarkOption, Confirmation, Finding

PER_THOUSAND = 1_000


def _ms(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _per_minute(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.0f}/min"


def _usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:,.2f}" if value >= 1 else f"${value:,.4f}"


def _per_thousand(option: BenchmarkOption | None) -> str:
    if option is None or option.cost_per_inference is None:
        return "unknown"
    return _usd(option.cost_per_inference * PER_THOUSAND)


def _today_option(confirmation: Confirmation) -> BenchmarkOption | None:
    baseline = confirmation.baseline
    return next(
        (
            option
            for option in confirmation.options
            if option.instance_type == baseline.instance_type and option.serverless_memory_mb is None
        ),
        None,
    )


def today_hourly(finding: Finding) -> float | None:
    """Today's cost per hour: the plan's monthly cost (price book) / 730, else the job's price of it."""
    if finding.current_monthly_cost_usd is not None:
        return finding.current_monthly_cost_usd / HOURS_PER_MONTH
    return None if finding.confirmation is None else today_hourly_cost(finding.confirmation)


def today_column(finding: Finding) -> str | None:
    """Slack mrkdwn: the endpoint today (observed in CloudWatch, priced by the price book)."""
    confirmation = finding.confirmation
    if confirmation is None:
        return None
    baseline = confirmation.baseline
    return "\n".join(
        [
            f"*Today: {baseline.instance_count} x {baseline.instance_type}*",
            f"p99 latency {_ms(baseline.observed_p99_latency_ms)} (observed)",
            f"peak {_per_minute(baseline.observed_peak_invocations_per_minute)} (observed)",
            f"{_usd(today_hourly(finding))} per hour",
            f"{_per_thousand(_today_option(confirmation))} per 1,000 inferences (benchmarked at full load)",
        ]
    )


def benchmark_column(finding: Finding) -> str | None:
    """Slack mrkdwn: what the job measured of the chosen option; None when nothing was chosen."""
    confirmation = finding.confirmation
    chosen = None if confirmation is None else confirmation.chosen
    if confirmation is None or chosen is None:
        return None
    return "\n".join(
        [
            f"*Benchmarked: {chosen.label}*",
            f"p99 latency {_ms(chosen.model_latency_ms)} (measured)",
            f"up to {_per_minute(chosen.max_invocations)} (measured)",
            f"{_usd(chosen.cost_per_hour)} per hour",
            f"{_per_thousand(chosen)} per 1,000 inferences",
        ]
    )


def headline(confirmation: Confirmation) -> str:
    """One line on what the benchmark said, or why there is none."""
    job = f"Inference Recommender job {confirmation.job_name}" if confirmation.job_name else "No benchmark"
    reused = " (reused)" if confirmation.reused else ""
    if confirmation.status != COMPLETED:
        why = confirmation.reasons[0] if confirmation.reasons else confirmation.status
        return f"Not confirmed by a benchmark ({confirmation.status}): {why}"
    if confirmation.chosen is None:
        return f"{job}{reused}: no cheaper option met the endpoint's latency and peak"
    return f"Confirmed by {job}{reused}"


def not_offered(confirmation: Confirmation) -> list[str]:
    """The measured reasons each rejected option was not offered."""
    return measured_rejections(confirmation)


def summary(finding: Finding) -> str | None:
    """Plain text: the headline, the chosen option against today, and what was not offered."""
    confirmation = finding.confirmation
    if confirmation is None:
        return None
    parts = [headline(confirmation)]
    chosen, baseline = confirmation.chosen, confirmation.baseline
    if confirmation.status == COMPLETED and chosen is not None:
        parts.append(
            f"{chosen.label}: p99 {_ms(chosen.model_latency_ms)} (today {_ms(baseline.observed_p99_latency_ms)}), "
            f"up to {_per_minute(chosen.max_invocations)} (today's peak "
            f"{_per_minute(baseline.observed_peak_invocations_per_minute)}), {_usd(chosen.cost_per_hour)} per hour "
            f"(today {_usd(today_hourly(finding))}), {_per_thousand(chosen)} per 1,000 inferences"
        )
    rejected = not_offered(confirmation)
    if rejected:
        parts.append("not offered: " + "; ".join(rejected))
    return ". ".join(parts)


def confirmation_html(finding: Finding) -> str:
    """The report card's benchmark line (escaped); "" for a finding without a confirmation."""
    text = summary(finding)
    if text is None:
        return ""
    return f'<div class="confirmation" style="margin-top:6px;font-size:12px"><b>Benchmark:</b> {escape(text)}</div>'
