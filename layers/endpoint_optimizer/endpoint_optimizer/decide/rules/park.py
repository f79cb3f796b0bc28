"""Park: an endpoint with no traffic at all is deleted, its config and model kept; one step brings it
back (`endpoint-optimizer restore`). The only rung the apply step carries out today."""

from __future__ import annotations

from endpoint_optimizer.decide.rules.base import Context, Proposal, rung
from endpoint_optimizer.models import Action

# Exactly what park's code calls (act/park.py: its re-check, snapshot, change and rollback): restore runs from
# the CLI with the operator's credentials, so CreateEndpoint/CreateEndpointConfig/CreateModel/AddTags are not
# here.
PARK_PERMISSIONS = (
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:ListInferenceComponents",
    "sagemaker:ListTags",
    "sagemaker:DeleteEndpoint",
    "cloudwatch:GetMetricData",  # the traffic re-check right before the change
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DescribeScheduledActions",
    "application-autoscaling:PutScheduledAction",
)


@rung(
    Action.PARK,
    position=1,
    risk_rank=2,
    # The scaling this change takes away (parking deregisters it, restore puts it back).
    reads=("application-autoscaling:DescribeScalableTargets",),
    writes=PARK_PERMISSIONS,
    applied=True,
)
def park(ctx: Context) -> Proposal | None:
    endpoint = ctx.scanned.endpoint
    if ctx.traffic.total > 0 or endpoint.inference_components or endpoint.async_inference:
        return None
    days = min(ctx.policy.lookback_days, int(ctx.age_days))
    span = (
        f"{ctx.policy.lookback_days} days"
        if days >= ctx.policy.lookback_days
        else f"the {days} days since it was created"
    )
    cpu_days = min((ctx.variant_metrics[v.name].cpu_days_reported for v in ctx.instance_variants), default=0)
    variants = ", ".join(f"{v.name} ({v.instance_count} x {v.instance_type})" for v in ctx.instance_variants)
    return Proposal(
        target=f"parked: endpoint deleted, config {endpoint.config_name} and model kept",
        savings=ctx.monthly_cost,
        confidence="high" if ctx.monthly_cost is not None else "medium",
        reasons=[
            f"0 invocations in {span} while CPU metrics were reported on {cpu_days} of {days or 1} days",
            f"variants: {variants}",
            f"created {ctx.age_days:.0f} days ago, last changed {ctx.changed_days:.0f} days ago",
            f"one-step way back: endpoint-optimizer restore {endpoint.name}",
        ],
        evidence={
            "invocations": 0,
            "cpu_days_reported": cpu_days,
            "window_days": days,
            "age_days": round(ctx.age_days, 1),
        },
    )
