"""What an Inference Recommender job benchmarks for a finding: the instance type the endpoint runs today
(the baseline) and the rung's candidates, at most `MAX_ENDPOINT_CONFIGURATIONS` in all.

- rightsize: the smaller sizes of the family (same accelerators), largest first. The chooser sizes each
  to the observed peak, so "fewer instances of the same type" and "two of a smaller size" are both
  judged from the same measurements.
- migrate_graviton: the rung's Graviton equivalent, the same size in the other Graviton families valid
  for real-time endpoints, then the smaller sizes of the rung's family.
- migrate_serverless: the rung's memory size and the next sizes up (more memory is also more CPU).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from endpoint_optimizer.decide.confirm.images import NO_KNOWN_ARM64_BUILD, container_config_for
from endpoint_optimizer.decide.confirm.thresholds import MAX_ENDPOINT_CONFIGURATIONS
from endpoint_optimizer.decide.rules.serverless import serverless_memory_mb
from endpoint_optimizer.decide.signals import instance_specs
from endpoint_optimizer.decide.thresholds import (
    GRAVITON_REALTIME_SIZES as VALID_GRAVITON_SIZES,
)
from endpoint_optimizer.decide.thresholds import SERVERLESS_MAX_MEMORY_MB, SERVERLESS_MEMORY_STEP_MB
from endpoint_optimizer.models import Action, Finding, VariantFacts

CONFIRMED_ACTIONS = frozenset({Action.RIGHTSIZE, Action.MIGRATE_GRAVITON, Action.MIGRATE_SERVERLESS})

# Graviton instance types valid for real-time endpoints: one list, the rung's (decide.thresholds).
GRAVITON_REALTIME_SIZES: dict[str, tuple[str, ...]] = VALID_GRAVITON_SIZES

# The Graviton families that stand in for an x86 family, by its letter, the rung's own choice first.
GRAVITON_FAMILIES_BY_LETTER: dict[str, tuple[str, ...]] = {
    "c": ("ml.c7g", "ml.c6g", "ml.c8g"),
    "m": ("ml.m6g", "ml.m8g"),
    "r": ("ml.r6g", "ml.r8g"),
}
# Inference Recommender does not benchmark ml.t2 (issue 9's facts, SageMaker developer guide).
UNSUPPORTED_FAMILIES = ("ml.t2.",)
SERVERLESS_SIZES = 3  # the rung's memory size and two more steps up
SERVERLESS_MAX_CONCURRENCY = 200  # ProductionVariantServerlessConfig MaxConcurrency 1-200 (botocore 1.43.127)
_SERVERLESS_TARGET = re.compile(
    r"Serverless Inference (?P<memory>\d+) MB, MaxConcurrency (?P<concurrency>\d+)"
)


@dataclass(frozen=True)
class Candidate:
    """One EndpointConfigurations item of the job: an instance type or a serverless configuration."""

    instance_type: str | None = None
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int | None = None

    @property
    def is_serverless(self) -> bool:
        return self.serverless_memory_mb is not None

    @property
    def key(self) -> str:
        """Stable text for the job's reuse key: "ml.c5.large" or "serverless-2048-5"."""
        if self.is_serverless:
            return f"serverless-{self.serverless_memory_mb}-{self.serverless_max_concurrency}"
        return self.instance_type or ""

    def endpoint_configuration(self) -> dict[str, Any]:
        """The EndpointInputConfiguration of CreateInferenceRecommendationsJob."""
        if self.is_serverless:
            return {
                "ServerlessConfig": {
                    "MemorySizeInMB": self.serverless_memory_mb,
                    "MaxConcurrency": self.serverless_max_concurrency or 1,
                }
            }
        return {"InstanceType": self.instance_type}


def current_variant(finding: Finding) -> VariantFacts | None:
    """The one instance variant the scan saw (a confirmation benchmarks single-variant endpoints only)."""
    if finding.scan is None:
        return None
    variants = [v for v in finding.scan.variants if v.instance_type]
    return variants[0] if len(variants) == 1 and len(finding.scan.variants) == 1 else None


def blockers_a_benchmark_clears(finding: Finding) -> list[str]:
    """The blockers of `finding` a completed benchmark answers: a Graviton move held for want of an arm64
    image, when the image has a known arm64 build (the benchmark runs that build, and a move it confirms
    deploys it)."""
    variant = current_variant(finding)
    if finding.action != Action.MIGRATE_GRAVITON or variant is None:
        return []
    container = container_config_for(variant.image)
    if container is None or container.arm64_image is None:
        return []
    return [blocker for blocker in finding.blocked_by if NO_KNOWN_ARM64_BUILD in blocker]


def arm64_build_of(finding: Finding) -> str | None:
    variant = current_variant(finding)
    container = container_config_for(variant.image) if variant is not None else None
    return container.arm64_image if container is not None else None


def needs_confirmation(finding: Finding) -> bool:
    """A rightsize, Graviton or serverless move of a single-variant instance endpoint."""
    return finding.action in CONFIRMED_ACTIONS and current_variant(finding) is not None


def _smaller_siblings(instance_type: str) -> list[str]:
    spec = instance_specs().get(instance_type)
    if spec is None:
        return []
    smaller = [
        other
        for other in instance_specs().values()
        if other.family == spec.family and other.vcpu < spec.vcpu and other.accelerator == spec.accelerator
    ]
    return [other.instance_type for other in sorted(smaller, key=lambda other: -other.vcpu)]


def _graviton_candidates(finding: Finding, current: str) -> list[str]:
    family, _, size = current.rpartition(".")
    letter = family.removeprefix("ml.")[:1]
    target = finding.evidence.get("target")
    chosen = [target] if isinstance(target, str) else []
    same_size = [
        f"{other}.{size}"
        for other in GRAVITON_FAMILIES_BY_LETTER.get(letter, ())
        if size in GRAVITON_REALTIME_SIZES[other]
    ]
    first = (chosen or same_size or [""])[0]
    first_family, _, first_size = first.rpartition(".")
    sizes = GRAVITON_REALTIME_SIZES.get(first_family, ())
    smaller = (
        [f"{first_family}.{s}" for s in reversed(sizes[: sizes.index(first_size)])]
        if first_size in sizes
        else []
    )
    # A type the instance table does not know cannot be judged nor priced for the spend cap: not benchmarked.
    known = instance_specs()
    return [candidate for candidate in [*chosen, *same_size, *smaller] if candidate in known]


def _serverless_candidates(finding: Finding) -> list[Candidate]:
    match = _SERVERLESS_TARGET.search(finding.target or "")
    used = finding.evidence.get("memory_used_mb")
    concurrency = finding.evidence.get("peak_concurrency")
    if match is not None:
        memory, max_concurrency = int(match["memory"]), int(match["concurrency"])
    else:
        memory = (
            serverless_memory_mb(float(used))
            if isinstance(used, int | float)
            else 2 * SERVERLESS_MEMORY_STEP_MB
        )
        max_concurrency = max(1, math.ceil(concurrency)) if isinstance(concurrency, int | float) else 1
    max_concurrency = min(max_concurrency, SERVERLESS_MAX_CONCURRENCY)
    sizes = range(memory, SERVERLESS_MAX_MEMORY_MB + 1, SERVERLESS_MEMORY_STEP_MB)
    return [Candidate(serverless_memory_mb=m, serverless_max_concurrency=max_concurrency) for m in sizes][
        :SERVERLESS_SIZES
    ]


def candidates_for(finding: Finding, *, include_baseline: bool = True) -> list[Candidate]:
    """The job's EndpointConfigurations for `finding`, the baseline first; [] when it needs no job.

    `include_baseline=False` leaves today's instance type out: a Graviton job whose model runs an
    arm64-only image cannot run it on x86 (the chooser then compares with the price book)."""
    variant = current_variant(finding)
    if finding.action not in CONFIRMED_ACTIONS or variant is None or variant.instance_type is None:
        return []
    current = variant.instance_type
    moves: list[Candidate]
    if finding.action == Action.MIGRATE_SERVERLESS:
        moves = _serverless_candidates(finding)
    elif finding.action == Action.MIGRATE_GRAVITON:
        moves = [Candidate(instance_type=t) for t in _graviton_candidates(finding, current)]
    else:
        moves = [Candidate(instance_type=t) for t in _smaller_siblings(current)]
    chosen: list[Candidate] = [Candidate(instance_type=current)] if include_baseline else []
    for candidate in moves:
        supported = not (candidate.instance_type or "").startswith(UNSUPPORTED_FAMILIES)
        if supported and candidate not in chosen:
            chosen.append(candidate)
    return chosen[:MAX_ENDPOINT_CONFIGURATIONS]


def instant_instance_types(described_model: dict[str, Any]) -> tuple[str, ...]:
    """The instance types of a model's free instant recommendations (DescribeModel
    DeploymentRecommendation{RecommendationStatus, RealTimeInferenceRecommendations[]{InstanceType}},
    botocore 1.43 SageMaker model, read 2026-12-01), when SageMaker has COMPLETED them; () otherwise."""
    recommendation = described_model.get("DeploymentRecommendation") or {}
    if recommendation.get("RecommendationStatus") != "COMPLETED":
        return ()
    return tuple(
        item["InstanceType"]
        for item in recommendation.get("RealTimeInferenceRecommendations") or []
        if item.get("InstanceType")
    )


def narrowed_by_instant(
    candidates: list[Candidate], instant_types: tuple[str, ...], *, today: str | None
) -> list[Candidate]:
    """The instant recommendations first: where they name some of the rung's instance candidates, only
    those are benchmarked beside today's type and any serverless candidate, which makes the job cheaper.
    Where they name none of them (or there are none) every candidate is benchmarked: the instant list is a
    free hint, not a measurement."""
    moves = [c for c in candidates if c.is_serverless or c.instance_type != today]
    if not any(c.instance_type in instant_types for c in moves if not c.is_serverless):
        return candidates
    return [c for c in candidates if c.is_serverless or c.instance_type in (today, *instant_types)]
