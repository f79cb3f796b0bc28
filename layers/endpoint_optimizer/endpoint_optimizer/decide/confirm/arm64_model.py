"""The throwaway model a Graviton benchmark runs: the endpoint's model with the arm64 build of its image.

One Inference Recommender job benchmarks one model, so one image, and an x86 image cannot run on
Graviton. For a migrate_graviton move whose image has a known arm64 build (`images.ContainerFacts.
arm64_image`), confirm/ creates `eo-arm64-<hash>` from the endpoint's model (the same artifact,
environment and mode; the arm64 image; the recommender role, which the recommend function already passes
to SageMaker), benchmarks the Graviton candidates on it and deletes it once the job has ended.

The name is deterministic (source model + arm64 image; SageMaker models are immutable, so the same pair
is the same model): a second run reuses the model and finds the first run's job to reuse. Only names of
this exact shape are ever deleted, and the IAM grants CreateModel/DeleteModel on `model/eo-arm64-*` only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

ARM64_MODEL_PREFIX = "eo-arm64-"
ARM64_MODEL_HASH_LENGTH = 16  # hex digits: 64 bits, no collision between a fleet's models
# ModelName: 1-63 characters, ^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$ (botocore 1.43 SageMaker model,
# CreateModel, read 2026-12-01).
MAX_MODEL_NAME = 63
_ARM64_MODEL_NAME = re.compile(rf"{ARM64_MODEL_PREFIX}[0-9a-f]{{{ARM64_MODEL_HASH_LENGTH}}}")
# What the benchmark model copies from the source model's container (ContainerDefinition, same model).
COPIED_CONTAINER_KEYS = ("ModelDataUrl", "ModelDataSource", "Environment", "Mode")


def arm64_model_name(source_model: str, arm64_image: str) -> str:
    """`eo-arm64-<16 hex digits of sha256(source model, arm64 image)>`: 25 characters, a valid ModelName."""
    digest = hashlib.sha256(f"{source_model}\n{arm64_image}".encode()).hexdigest()
    return f"{ARM64_MODEL_PREFIX}{digest[:ARM64_MODEL_HASH_LENGTH]}"


def is_arm64_model(model_name: str | None) -> bool:
    """Whether `model_name` is a benchmark model this package names (the only models ever deleted)."""
    return model_name is not None and _ARM64_MODEL_NAME.fullmatch(model_name) is not None


def arm64_model_request(
    source: Mapping[str, Any], *, arm64_image: str, role_arn: str
) -> dict[str, Any] | str:
    """The CreateModel kwargs of the benchmark model for `source` (a DescribeModel answer), or why none
    can be made. The container is PrimaryContainer or the only one of Containers (an inference pipeline
    of several containers is not one image: its Graviton move cannot be benchmarked this way); a VPC
    model keeps its VpcConfig, network isolation is kept; no tags (nothing to tag: it is deleted)."""
    containers = list(source.get("Containers") or [])
    container: Mapping[str, Any] | None = source.get("PrimaryContainer")
    if container is None and len(containers) == 1:
        container = containers[0]
    model = source.get("ModelName", "the model")
    if container is None:
        count = len(containers)
        return (
            f"a Graviton benchmark needs {model} to run one container; it runs {count}: only a single-"
            "container model is rebuilt on an arm64 image"
        )
    definition: dict[str, Any] = {"Image": arm64_image}
    definition.update({key: container[key] for key in COPIED_CONTAINER_KEYS if container.get(key)})
    request: dict[str, Any] = {
        "ModelName": arm64_model_name(str(source.get("ModelName", "")), arm64_image),
        "PrimaryContainer": definition,
        "ExecutionRoleArn": role_arn,
    }
    if source.get("VpcConfig"):
        request["VpcConfig"] = dict(source["VpcConfig"])
    if source.get("EnableNetworkIsolation"):
        request["EnableNetworkIsolation"] = True
    return request
