"""Consolidate: a fleet-level rung. Several small, lightly used endpoints serving the same image could
share one endpoint with inference components. Report only."""

from __future__ import annotations

from endpoint_optimizer.decide.pricing import PriceBook
from endpoint_optimizer.decide.rules.base import fleet_rung
from endpoint_optimizer.decide.signals import InstanceSpec, Reading, instance_specs, is_accelerated, reading
from endpoint_optimizer.decide.thresholds import (
    CONSOLIDATE_MAX_PEAK,
    CONSOLIDATE_MEMORY_FILL,
    CONSOLIDATE_MIN_GROUP,
    TARGET_PEAK_UTILIZATION,
)
from endpoint_optimizer.models import HOURS_PER_MONTH, Action, Finding, ScannedEndpoint


# After every endpoint was decided: its candidates are the endpoints the other rungs left alone. Nothing
# applies it (no apply step, so no write permissions): moving models needs a migration plan per model.
@fleet_rung(Action.CONSOLIDATE, position=7, risk_rank=6)
def consolidate(findings: list[Finding], scanned: list[ScannedEndpoint], prices: PriceBook) -> list[Finding]:
    """Several small, lightly used endpoints serving the same container image could share one endpoint
    with inference components. Reported, never applied: the move needs a migration plan per model."""
    by_name = {item.endpoint.name: item for item in scanned}
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    peaks: dict[str, Reading] = {}
    for finding in findings:
        item = by_name.get(finding.endpoint_name)
        # Candidates: endpoints left alone, or whose only idea was blocked (e.g. no arm64 image).
        left_alone = finding.action == Action.NONE and not finding.blocked_by
        only_blocked_advice = finding.action == Action.MIGRATE_GRAVITON and bool(finding.blocked_by)
        if not (left_alone or only_blocked_advice) or item is None:
            continue
        variants = [v for v in item.endpoint.variants if not v.is_serverless]
        if len(variants) != 1 or variants[0].instance_count != 1 or not variants[0].image:
            continue
        if item.endpoint.inference_components or is_accelerated(variants[0].instance_type):
            continue
        metrics = next(
            (m for m in item.metrics if m.scope == "variant" and m.variant_name == variants[0].name), None
        )
        # A share of the instance, never the published sum; an unknown type cannot be judged.
        peak = reading(metrics, variants[0], "cpu") if metrics is not None else None
        if peak is None or peak.share > CONSOLIDATE_MAX_PEAK or finding.current_monthly_cost_usd is None:
            continue
        key = (finding.account_id, finding.region, variants[0].image)
        groups.setdefault(key, []).append(finding)
        peaks[finding.endpoint_name] = peak

    replaced: dict[str, Finding] = {}
    for (_, region, image), members in groups.items():
        if len(members) < CONSOLIDATE_MIN_GROUP:
            continue
        specs = instance_specs()
        usage: list[tuple[float, float]] = []  # (vCPUs busy at peak, GiB in use) per endpoint
        host_type = None
        for finding in members:
            item = by_name[finding.endpoint_name]
            peak = peaks[finding.endpoint_name]
            spec = specs[peak.instance_type]  # a reading exists only for a type in the specs
            metrics = next(m for m in item.metrics if m.scope == "variant" and m.variant_name == peak.variant)
            # CPUUtilization is a sum over vCPUs: 96 % is 0.96 vCPU busy (= share x vCPUs / 100).
            vcpus_busy = peak.share / 100 * spec.vcpu
            usage.append((vcpus_busy, (metrics.memory_max_percent or 100) / 100 * spec.memory_gib))
            if host_type is None or spec.vcpu > specs[host_type].vcpu:
                host_type = spec.instance_type
        if host_type is None:
            continue
        host = specs[host_type]
        host_price = prices.hourly(region, host_type)
        hosts = _hosts_needed(usage, host)
        current = sum(f.current_monthly_cost_usd or 0 for f in members)
        if host_price is None or hosts is None:
            continue
        new_cost = hosts * host_price.usd_per_hour * HOURS_PER_MONTH
        if current - new_cost < 0.01:  # costs are rounded to the cent: equal is no saving
            continue
        names = ", ".join(sorted(f.endpoint_name for f in members))
        for finding in members:
            share = (finding.current_monthly_cost_usd or 0) / current
            replaced[finding.endpoint_name] = finding.model_copy(
                update={
                    "action": Action.CONSOLIDATE,
                    "blocked_by": [],
                    "target": f"one endpoint with inference components on {hosts} x {host_type} "
                    f"shared by {len(members)} endpoints",
                    "estimated_monthly_savings_usd": round((current - new_cost) * share, 2),
                    "confidence": "low",
                    "reasons": [
                        f"{len(members)} single-instance endpoints serve image {image}, each with peak CPU at "
                        f"most {CONSOLIDATE_MAX_PEAK:.0f} % of its instance: {names}",
                        f"this one: {peaks[finding.endpoint_name].describe()}",
                        f"together they cost {current:.2f} USD a month; {hosts} x {host_type} "
                        f"({new_cost:.2f} USD) would carry their combined peak under {TARGET_PEAK_UTILIZATION:.0f} %",
                        "report only: moving models onto inference components needs a migration plan per model",
                    ],
                    "evidence": {
                        "group_size": len(members),
                        "group_monthly_usd": round(current, 2),
                        "hosts": hosts,
                    },
                }
            )
    return [replaced.get(finding.endpoint_name, finding) for finding in findings]


def _hosts_needed(usage: list[tuple[float, float]], host: InstanceSpec) -> int | None:
    """Hosts of type `host` that carry every endpoint's peak (vCPUs busy, GiB in use) under the targets,
    packed first-fit decreasing: a model is never split across hosts. None when one alone does not fit."""
    vcpu_cap = host.vcpu * TARGET_PEAK_UTILIZATION / 100
    memory_cap = host.memory_gib * CONSOLIDATE_MEMORY_FILL
    hosts: list[list[float]] = []
    for vcpus, memory in sorted(usage, key=lambda item: (item[1], item[0]), reverse=True):
        if vcpus > vcpu_cap or memory > memory_cap:
            return None
        for load in hosts:
            if load[0] + vcpus <= vcpu_cap and load[1] + memory <= memory_cap:
                load[0] += vcpus
                load[1] += memory
                break
        else:
            hosts.append([vcpus, memory])
    return max(1, len(hosts))
