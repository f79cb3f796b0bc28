"""The CPU architectures an ECR image is published for, read from its manifest: how a custom image (one
decide.confirm.images.arm64_image_of does not know) shows it can run on Graviton.

Facts (botocore 1.43.127 ECR model and the OCI image-spec / Docker registry manifest list, read
2026-12-01; /work/shared/facts/actions_and_recommender.md "Graviton"):
- `BatchGetImage(registryId, repositoryName, imageIds[{imageTag | imageDigest}], acceptedMediaTypes)`
  returns `images[]{imageManifest (a JSON string), imageManifestMediaType}` and
  `failures[]{imageId, failureCode, failureReason}` (ImageNotFound, ImageInaccessible, ...); a missing
  repository or a denied call raises (RepositoryNotFoundException, AccessDeniedException).
- A multi-platform image is a manifest list (`application/vnd.docker.distribution.manifest.list.v2+json`)
  or an OCI image index (`application/vnd.oci.image.index.v1+json`): `manifests[].platform.architecture`
  names each platform ("amd64", "arm64"; buildx adds attestation entries whose platform is "unknown").
  ECR returns one only when the request accepts its media type (the model documents the single-manifest
  types; the docker client sends these two as well).
- A single-platform manifest names its architecture only in its config blob (a layer download, not read
  here): such an image's platforms are unknown.

AWS access: the ECR client passed in, of the image's region.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# Multi-platform first; single-platform ones too, so that ECR answers for any image (then: unknown).
ACCEPTED_MEDIA_TYPES = [MANIFEST_LIST, OCI_INDEX, DOCKER_MANIFEST, OCI_MANIFEST]

_ECR_IMAGE = re.compile(
    r"^(?P<registry>[0-9]{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>[a-z0-9._/-]+?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class EcrImage:
    """An image URI in a private ECR registry: `<registry>.dkr.ecr.<region>.amazonaws.com/<repository>`
    with a tag (default "latest") or a digest."""

    registry_id: str
    region: str
    repository: str
    tag: str | None
    digest: str | None

    def image_id(self) -> dict[str, str]:
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag or "latest"}


def ecr_image(image_uri: str) -> EcrImage | None:
    """The ECR parts of `image_uri`; None when it is not a private ECR image (Docker Hub, ECR Public...)."""
    match = _ECR_IMAGE.match(image_uri.strip())
    if match is None:
        return None
    return EcrImage(
        registry_id=match["registry"],
        region=match["region"],
        repository=match["repository"],
        tag=match["tag"],
        digest=match["digest"],
    )


def platforms_of(manifest: dict[str, Any]) -> set[str] | None:
    """The architectures a manifest list or OCI index names; None for a single-platform manifest."""
    entries = manifest.get("manifests")
    if not isinstance(entries, list):
        return None
    architectures = {
        str(entry["platform"]["architecture"])
        for entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("platform"), dict)
        and entry["platform"].get("architecture") not in (None, "", "unknown")
    }
    return architectures or None


def image_platforms(ecr: ECRClient, image_uri: str) -> set[str] | None:
    """The CPU architectures (e.g. {"amd64", "arm64"}) the ECR image `image_uri` is published for, read
    from its manifest list or OCI index with `ecr` (a client of the image's region).

    None when they cannot be read: not a private ECR image, another region than the client's, not found,
    denied, or a single-platform manifest (its architecture is in the config blob, not read here). A
    caller treats None as "no known arm64 build", never as x86."""
    image = ecr_image(image_uri)
    if image is None or image.region != ecr.meta.region_name:
        return None
    try:
        answer = ecr.batch_get_image(
            registryId=image.registry_id,
            repositoryName=image.repository,
            imageIds=[image.image_id()],  # type: ignore[list-item]
            acceptedMediaTypes=ACCEPTED_MEDIA_TYPES,
        )
    except (ClientError, BotoCoreError):
        return None  # RepositoryNotFoundException, AccessDeniedException, throttled...: unreadable
    images = answer.get("images") or []
    if answer.get("failures") or not images:
        return None
    try:
        manifest = json.loads(images[0].get("imageManifest") or "")
    except json.JSONDecodeError:
        return None
    return platforms_of(manifest) if isinstance(manifest, dict) else None
