"""What Inference Recommender must be told about a model's container, read from its image: the
framework, its version, a domain and task, the content types it takes, and the arm64 build of the same
image for a Graviton benchmark.

IR needs ContainerConfig.Domain and Framework when a job names a model (the SageMaker troubleshooting
page, as quoted in issue 9's facts). An image this table does not know can be described with tags on the
endpoint (`FRAMEWORK_TAG`, `FRAMEWORK_VERSION_TAG`, optionally `DOMAIN_TAG`, `TASK_TAG`); without them
the finding says which tags to add.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from endpoint_optimizer.decide.confirm.thresholds import (
    DOMAIN_TAG,
    FRAMEWORK_TAG,
    FRAMEWORK_VERSION_TAG,
    TASK_TAG,
)

# RecommendationJobContainerConfig (botocore 1.43.127 sagemaker documentation strings, read 2026-12-01):
# "Framework: ... TENSORFLOW, PYTORCH, XGBOOST, and SAGEMAKER-SCIKIT-LEARN"; Domain and Task as listed;
# FrameworkVersion 3-10 characters matching [0-9]\.[A-Za-z0-9.-]+.
FRAMEWORKS = ("TENSORFLOW", "PYTORCH", "XGBOOST", "SAGEMAKER-SCIKIT-LEARN")
DOMAINS = ("COMPUTER_VISION", "NATURAL_LANGUAGE_PROCESSING", "MACHINE_LEARNING")
TASKS = (
    "IMAGE_CLASSIFICATION",
    "OBJECT_DETECTION",
    "TEXT_GENERATION",
    "IMAGE_SEGMENTATION",
    "FILL_MASK",
    "CLASSIFICATION",
    "REGRESSION",
    "OTHER",
)
FRAMEWORK_VERSION = re.compile(r"[0-9]\.[A-Za-z0-9.-]{1,8}")
JSON = ("application/json",)
CSV = ("text/csv",)  # the SageMaker XGBoost and scikit-learn containers' default input


@dataclass(frozen=True)
class KnownRepository:
    framework: str
    domain: str
    content_types: tuple[str, ...]
    arm64: bool  # the repository holds arm64 builds only


# Repositories of the AWS Deep Learning Containers and the SageMaker built-in framework images
# (aws/deep-learning-containers available_images.md, read 2026-12-01; SageMaker developer guide
# "Docker Registry Paths and Example Code" for sagemaker-xgboost and sagemaker-scikit-learn). The task is
# not in the image: "OTHER" unless tagged.
KNOWN_REPOSITORIES: dict[str, KnownRepository] = {
    "pytorch-inference": KnownRepository("PYTORCH", "MACHINE_LEARNING", JSON, arm64=False),
    "pytorch-inference-graviton": KnownRepository("PYTORCH", "MACHINE_LEARNING", JSON, arm64=True),
    "pytorch-inference-arm64": KnownRepository("PYTORCH", "MACHINE_LEARNING", JSON, arm64=True),
    "tensorflow-inference": KnownRepository("TENSORFLOW", "MACHINE_LEARNING", JSON, arm64=False),
    "tensorflow-inference-graviton": KnownRepository("TENSORFLOW", "MACHINE_LEARNING", JSON, arm64=True),
    "huggingface-pytorch-inference": KnownRepository(
        "PYTORCH", "NATURAL_LANGUAGE_PROCESSING", JSON, arm64=False
    ),
    "huggingface-tensorflow-inference": KnownRepository(
        "TENSORFLOW", "NATURAL_LANGUAGE_PROCESSING", JSON, arm64=False
    ),
    "sagemaker-xgboost": KnownRepository("XGBOOST", "MACHINE_LEARNING", CSV, arm64=False),
    "sagemaker-scikit-learn": KnownRepository("SAGEMAKER-SCIKIT-LEARN", "MACHINE_LEARNING", CSV, arm64=False),
}

# The arm64 build of an x86 image, by (repository, framework version) -> "repository:tag" in the same
# registry. Only tags read in a source are listed; another version has no known arm64 build here.
# - PyTorch: `pytorch-inference-graviton` up to 2.4.0, `pytorch-inference-arm64` from 2.5
#   (available_images.md "SageMaker Framework Graviton Containers" and "Prior SageMaker Framework
#   ARM64/Graviton Containers", read 2026-12-01; 2.6.0's tag from issue 9's facts).
# - TensorFlow: `tensorflow-inference-graviton` 2.9.1-2.16.1; the 2.16.1 tag (same page).
# - XGBoost `1.3-1-arm64`, `1.5-1-arm64`; scikit-learn `1.0-1-arm64-cpu-py3` (SageMaker developer guide,
#   Graviton instances and built-in algorithms, as quoted in issue 9's facts).
ARM64_BUILDS: dict[tuple[str, str], str] = {
    ("pytorch-inference", "2.4.0"): "pytorch-inference-graviton:2.4.0-cpu-py311-ubuntu22.04-sagemaker",
    ("pytorch-inference", "2.5.1"): "pytorch-inference-arm64:2.5.1-cpu-py311-ubuntu22.04-sagemaker",
    ("pytorch-inference", "2.6.0"): "pytorch-inference-arm64:2.6.0-cpu-py312-ubuntu22.04-sagemaker",
    (
        "tensorflow-inference",
        "2.16.1",
    ): "tensorflow-inference-graviton:2.16.1-cpu-py310-ubuntu20.04-sagemaker",
    ("sagemaker-xgboost", "1.3-1"): "sagemaker-xgboost:1.3-1-arm64",
    ("sagemaker-xgboost", "1.5-1"): "sagemaker-xgboost:1.5-1-arm64",
    ("sagemaker-scikit-learn", "1.0-1"): "sagemaker-scikit-learn:1.0-1-arm64-cpu-py3",
}

_IMAGE = re.compile(r"^(?P<registry>[^/]+)/(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?$")
_VERSION = re.compile(r"^(?P<version>[0-9]+\.[0-9]+(?:\.[0-9]+)?(?:-[0-9]+)?)(?:-|$)")


@dataclass(frozen=True)
class ContainerFacts:
    """ContainerConfig for an IR job, and where a Graviton benchmark's image comes from."""

    framework: str
    framework_version: str | None  # None: not sent (optional in the API)
    domain: str
    task: str
    content_types: tuple[str, ...]
    is_arm64: bool  # the image itself is an arm64 build
    arm64_image: str | None  # the image to benchmark Graviton with (itself when is_arm64); None: none known
    source: str  # "image table" or "tags"


def _parts(image: str) -> tuple[str, str, str | None] | None:
    match = _IMAGE.match(image.strip())
    if match is None:
        return None
    return match["registry"], match["repository"], match["tag"]


def _version(tag: str | None) -> str | None:
    match = _VERSION.match(tag or "")
    if match is None:
        return None
    version = match["version"]
    return version if FRAMEWORK_VERSION.fullmatch(version) else None


def _arm64_build(registry: str, repository: str, tag: str | None, version: str | None) -> str | None:
    if "gpu" in (tag or "") or version is None:
        return None  # Graviton instances have no GPU
    build = ARM64_BUILDS.get((repository.rsplit("/", 1)[-1], version))
    if build is None:
        return None
    prefix = repository.rsplit("/", 1)[0] + "/" if "/" in repository else ""
    return f"{registry}/{prefix}{build}"


def _from_table(image: str) -> ContainerFacts | None:
    parts = _parts(image)
    if parts is None:
        return None
    registry, repository, tag = parts
    known = KNOWN_REPOSITORIES.get(repository.rsplit("/", 1)[-1])
    if known is None:
        return None
    version = _version(tag)
    is_arm64 = known.arm64 or any(marker in (tag or "") for marker in ("arm64", "aarch64"))
    return ContainerFacts(
        framework=known.framework,
        framework_version=version,
        domain=known.domain,
        task="OTHER",
        content_types=known.content_types,
        is_arm64=is_arm64,
        arm64_image=image if is_arm64 else _arm64_build(registry, repository, tag, version),
        source="image table",
    )


def container_config_for(image: str | None, tags: Mapping[str, str] | None = None) -> ContainerFacts | None:
    """The container facts of `image`, the endpoint's tags overriding the table; None when neither the
    table nor the tags name a framework (then `unknown_container_how_to` says what to tag)."""
    tags = tags or {}
    found = _from_table(image) if image else None
    framework = tags.get(FRAMEWORK_TAG, "").strip().upper()
    version = tags.get(FRAMEWORK_VERSION_TAG, "").strip()
    domain = tags.get(DOMAIN_TAG, "").strip().upper()
    task = tags.get(TASK_TAG, "").strip().upper()
    if found is None and framework not in FRAMEWORKS:
        return None
    tagged = bool(framework or version or domain or task)
    base = found or ContainerFacts(
        framework=framework,
        framework_version=None,
        domain="MACHINE_LEARNING",
        task="OTHER",
        content_types=JSON,
        is_arm64=False,
        arm64_image=None,
        source="tags",
    )
    return ContainerFacts(
        framework=framework if framework in FRAMEWORKS else base.framework,
        framework_version=version if FRAMEWORK_VERSION.fullmatch(version) else base.framework_version,
        domain=domain if domain in DOMAINS else base.domain,
        task=task if task in TASKS else base.task,
        content_types=base.content_types,
        is_arm64=base.is_arm64,
        arm64_image=base.arm64_image,
        source="tags" if found is None else "image table and tags" if tagged else "image table",
    )


def unknown_container_how_to(image: str | None) -> str:
    """What the finding says when the framework of `image` is unknown."""
    return (
        f"the framework of image {image or '(not reported)'} is unknown: tag the endpoint "
        f"{FRAMEWORK_TAG}={' | '.join(FRAMEWORKS)} and {FRAMEWORK_VERSION_TAG}=<version, e.g. 2.1.0> "
        f"(optionally {DOMAIN_TAG}, {TASK_TAG}) so Inference Recommender can benchmark it"
    )
