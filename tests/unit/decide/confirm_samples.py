"""Findings, prices and Inference Recommender answers the confirmation specs are written against."""

from __future__ import annotations

from typing import Any

from endpoint_optimizer.decide.pricing import HostingPrice, PriceBook
from endpoint_optimizer.models import Action, Baseline, Finding, ScanFacts, VariantFacts
from tests.conftest import NOW

REGION = "us-east-1"
PYTORCH_X86 = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5.1-cpu-py311"
ROLE_ARN = "arn:aws:iam::123456789012:role/endpoint-optimizer-recommender"
PAYLOAD = "s3://artifacts-bucket/recommender/ranker/payload.tar.gz"


def finding(
    action: Action = Action.RIGHTSIZE,
    *,
    instance_type: str = "ml.c5.2xlarge",
    count: int = 1,
    target: str | None = None,
    evidence: dict[str, float | int | str | None] | None = None,
    image: str | None = PYTORCH_X86,
    reasons: list[str] | None = None,
    savings: float | None = 100.0,
) -> Finding:
    """A finding as the analysis leaves it for `action`, on a one-variant endpoint."""
    return Finding(
        endpoint_name="ranker",
        account_id="123456789012",
        region=REGION,
        action=action,
        target=target or f"{count} x ml.c5.xlarge (from {instance_type})",
        current_monthly_cost_usd=300.0,
        estimated_monthly_savings_usd=savings,
        confidence="medium",
        reasons=reasons
        or ["peak CPU 20 %", "to be confirmed by an Inference Recommender job before applying"],
        evidence=evidence or {},
        scan=ScanFacts(
            scanned_at=NOW,
            endpoint_last_modified_at=NOW,
            config_name="ranker-config",
            variants=[
                VariantFacts(
                    name="AllTraffic", instance_type=instance_type, instance_count=count, image=image
                )
            ],
            metrics_window_start=NOW,
            metrics_window_end=NOW,
        ),
    )


def baseline(
    instance_type: str = "ml.c5.2xlarge",
    count: int = 1,
    p99_ms: float | None = 25.0,
    peak_per_minute: float | None = 1_000.0,
) -> Baseline:
    return Baseline(
        instance_type=instance_type,
        instance_count=count,
        observed_p99_latency_ms=p99_ms,
        observed_peak_invocations_per_minute=peak_per_minute,
    )


def measured(
    instance_type: str, *, latency_ms: float, max_invocations: int, cost_per_hour: float
) -> dict[str, Any]:
    """One InferenceRecommendations item for one instance of `instance_type`."""
    return {
        "RecommendationId": f"rec-{instance_type}",
        "Metrics": {
            "CostPerHour": cost_per_hour,
            "CostPerInference": cost_per_hour / (max_invocations * 60),
            "MaxInvocations": max_invocations,
            "ModelLatency": latency_ms,
            "CpuUtilization": float("nan"),
        },
        "EndpointConfiguration": {
            "EndpointName": f"eo-job-{instance_type}",
            "VariantName": "AllTraffic",
            "InstanceType": instance_type,
            "InitialInstanceCount": 1,
        },
    }


def measured_serverless(
    memory_mb: int, *, latency_ms: float, max_invocations: int, cost_per_inference: float
) -> dict[str, Any]:
    return {
        "Metrics": {
            "CostPerHour": cost_per_inference * max_invocations * 60,
            "CostPerInference": cost_per_inference,
            "MaxInvocations": max_invocations,
            "ModelLatency": latency_ms,
        },
        "EndpointConfiguration": {
            "EndpointName": f"eo-job-serverless-{memory_mb}",
            "VariantName": "AllTraffic",
            "ServerlessConfig": {"MemorySizeInMB": memory_mb, "MaxConcurrency": 5},
        },
    }


def described(*recommendations: dict[str, Any], status: str = "COMPLETED", **extra: Any) -> dict[str, Any]:
    """A DescribeInferenceRecommendationsJob response."""
    return {
        "JobName": "eo-0123456789ab-202611301200-ranker",
        "JobType": "Advanced",
        "Status": status,
        "InferenceRecommendations": list(recommendations),
        **extra,
    }


def prices(**usd_per_hour: float) -> PriceBook:
    """A price book for us-east-1 from keyword pairs: ml_c5_xlarge=0.204 -> ml.c5.xlarge."""
    return PriceBook(
        {
            (REGION, name.replace("_", ".")): HostingPrice(
                REGION, name.replace("_", "."), usd, "test price", "2026-12-01"
            )
            for name, usd in usd_per_hour.items()
        }
    )
