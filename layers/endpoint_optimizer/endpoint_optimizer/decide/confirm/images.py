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
# registry (AWS publishes both builds in the same account and region). Only tags read in a source are
# listed; another version has no known arm64 build here, and its Graviton move says so.
# - PyTorch (aws/deep-learning-containers available_images.md, tables "SageMaker Framework Graviton
#   Containers" and "Prior SageMaker Framework Graviton Containers", read 2026-12-01): 2.1.0, 2.3.0 and
#   2.4.0 in `pytorch-inference-graviton` (the x86 `pytorch-inference` has the same versions); 2.2 is
#   left out: x86 2.2.0, Graviton 2.2.1. From 2.5 `pytorch-inference-arm64` (same page, "ARM64"
#   tables; 2.6.0's tag also in issue 9's facts).
# - TensorFlow: `tensorflow-inference-graviton` 2.9.1-2.16.1; only the 2.16.1 SageMaker tag was read
#   (same page, read 2026-12-01).
# - SageMaker XGBoost `1.3-1-arm64`, `1.5-1-arm64`; scikit-learn `1.0-1-arm64-cpu-py3` (SageMaker
#   developer guide, Graviton instances and built-in algorithms, as quoted in issue 9's facts and
#   /work/shared/facts/actions_and_recommender.md "Graviton", read 2026-12-01).
ARM64_BUILDS: dict[tuple[str, str], str] = {
    ("pytorch-inference", "2.1.0"): "pytorch-inference-graviton:2.1.0-cpu-py310-ubuntu20.04-sagemaker",
    ("pytorch-inference", "2.3.0"): "pytorch-inference-graviton:2.3.0-cpu-py311-ubuntu20.04-sagemaker",
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

# What a Graviton move of an image without a known arm64 build is blocked by: every such blocker holds
# this phrase (decide.rules.graviton writes it, decide.confirm.candidates.blockers_a_benchmark_clears
# finds it).
NO_KNOWN_ARM64_BUILD = "has no known arm64 build"

_IMAGE = re.compile(r"^(?P<registry>[^/]+)/(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?$")
_VERSION = re.compile(r"^(?P<version>[0-9]+\.[0-9]+(?:\.[0-9]+)?(?:-[0-9]+)?)(?:-|$)")
# An image whose repository name or tag says arm64 is taken at its word: the DLC repositories
# (`*-graviton`, `*-arm64`), the built-in algorithms' `-arm64` tags, and owners' own `:1.4-arm64`.
_ARM64_WORD = re.compile(r"(?:^|[-_.])(?:arm64|aarch64|graviton)(?:$|[-_.])")


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


def _is_arm64(repository: str, tag: str | None) -> bool:
    known = KNOWN_REPOSITORIES.get(repository.rsplit("/", 1)[-1])
    if known is not None and known.arm64:
        return True
    return any(_ARM64_WORD.search(word.lower()) for word in (repository.rsplit("/", 1)[-1], tag or ""))


def arm64_image_of(image: str | None) -> str | None:
    """The image a Graviton move of `image` deploys: `image` itself when it already is an arm64 build,
    the known arm64 build of a known x86 image (`ARM64_BUILDS`: DLC PyTorch and TensorFlow inference CPU
    images, SageMaker XGBoost and scikit-learn), else None (a custom image: only its manifest can tell).
    `.../pytorch-inference:2.1.0-cpu-py310` -> `.../pytorch-inference-graviton:2.1.0-cpu-py310-ubuntu20.04-
    sagemaker` in the same registry; a GPU build -> None (Graviton has no GPU)."""
    parts = _parts(image) if image else None
    if image is None or parts is None:
        return None
    registry, repository, tag = parts
    if _is_arm64(repository, tag):
        return image
    return _arm64_build(registry, repository, tag, _version(tag))


def no_arm64_build_reason(image: str | None) -> str:
    """Why a Graviton move of `image` is blocked, when `arm64_image_of(image)` is None: what is known of
    its arm64 builds and what would unblock it. Holds `NO_KNOWN_ARM64_BUILD`."""
    if not image:
        return f"the deployed image is not reported, so it {NO_KNOWN_ARM64_BUILD}"
    parts = _parts(image)
    repository = parts[1].rsplit("/", 1)[-1] if parts is not None else ""
    if parts is not None and repository in KNOWN_REPOSITORIES:
        if "gpu" in (parts[2] or ""):
            return f"image {image} is a GPU build and {NO_KNOWN_ARM64_BUILD} (Graviton has no GPU)"
        versions = sorted(version for known, version in ARM64_BUILDS if known == repository)
        known_for = f"arm64 builds are known for {repository} {', '.join(versions)}" if versions else ""
        return f"image {image} {NO_KNOWN_ARM64_BUILD}" + (f" ({known_for})" if known_for else "")
    return (
        f"custom image {image} {NO_KNOWN_ARM64_BUILD}: publish an arm64 or multi-architecture build "
        "of it to unblock the move"
    )


def _from_table(image: str) -> ContainerFacts | None:
    parts = _parts(image)
    if parts is None:
        return None
    _, repository, tag = parts
    known = KNOWN_REPOSITORIES.get(repository.rsplit("/", 1)[-1])
    if known is None:
        return None
    version = _version(tag)
    is_arm64 = _is_arm64(repository, tag)
    return ContainerFacts(
        framework=known.framework,
        framework_version=version,
        domain=known.domain,
        task="OTHER",
        content_types=known.content_types,
        is_arm64=is_arm64,
        arm64_image=arm64_image_of(image),
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
    arm64 = arm64_image_of(image)
    base = found or ContainerFacts(
        framework=framework,
        framework_version=None,
        domain="MACHINE_LEARNING",
        task="OTHER",
        content_types=JSON,
        is_arm64=arm64 is not None and arm64 == image,
        arm64_image=arm64,
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
