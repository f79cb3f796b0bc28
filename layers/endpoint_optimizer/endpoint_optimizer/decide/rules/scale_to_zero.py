"""Scale to zero: inference components with no traffic, or an async endpoint with sporadic traffic, keep
the endpoint and scale its instances to none while idle."""

from __future__ import annotations

from endpoint_optimizer.decide.changes import window_too_short
from endpoint_optimizer.decide.rules.base import Context, Proposal, round_usd, rung
from endpoint_optimizer.decide.thresholds import SPORADIC_ACTIVE_SHARE
from endpoint_optimizer.models import Action


@rung(
    Action.SCALE_TO_ZERO,
    position=2,
    risk_rank=1,
    reads=("application-autoscaling:DescribeScalableTargets",),  # the scaling a minimum of 0 rewrites
    # Every call of act/scale_to_zero.py's steps (CreateEndpointConfig with Tags needs AddTags; an
    # inference-component config's ExecutionRoleArn also needs iam:PassRole of that role).
    writes=(
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:ListInferenceComponents",
        "sagemaker:DescribeInferenceComponent",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:AddTags",
        "sagemaker:DeleteEndpointConfig",  # its own eo- config, after a rollback or undo
        "sagemaker:UpdateEndpoint",
        "sagemaker:UpdateEndpointWeightsAndCapacities",
        "sagemaker:UpdateInferenceComponentRuntimeConfig",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScheduledActions",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:PutScheduledAction",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms",
    ),
    applied=True,
)
def scale_to_zero(ctx: Context) -> Proposal | None:
    endpoint = ctx.scanned.endpoint
    traffic = ctx.traffic
    if endpoint.inference_components and traffic.total == 0:
        names = ", ".join(component.name for component in endpoint.inference_components)
        return Proposal(
            target="ManagedInstanceScaling MinInstanceCount 0; copies scale out from zero on the first request",
            savings=ctx.monthly_cost,
            confidence="high" if ctx.monthly_cost is not None else "medium",
            reasons=[
                f"0 invocations in {ctx.policy.lookback_days} days on inference components {names}",
                "scaling to zero keeps the endpoint and its components; the first request after idle waits "
                "for an instance to start (minutes)",
            ],
            evidence={"invocations": 0, "inference_components": len(endpoint.inference_components)},
        )
    if endpoint.async_inference and traffic.active_share <= SPORADIC_ACTIVE_SHARE:
        idle_share = 1 - traffic.active_share
        savings = None if ctx.monthly_cost is None else ctx.monthly_cost * idle_share
        return Proposal(
            target="async endpoint with minimum capacity 0 and a backlog alarm to scale out",
            savings=round_usd(savings),
            confidence="medium",
            reasons=[
                f"async endpoint with traffic in {traffic.hours_with_traffic} of {traffic.expected_hours} hours "
                f"({traffic.active_share:.0%}); queued requests wait while an instance starts",
                f"savings assume instances run only in the {traffic.active_share:.0%} of hours with traffic",
            ],
            evidence={
                "hours_with_traffic": traffic.hours_with_traffic,
                "window_hours": traffic.expected_hours,
                "invocations": round(traffic.total),
            },
            blocked_by=[short] if (short := window_too_short(traffic, "bursts")) else [],
        )
    return None
