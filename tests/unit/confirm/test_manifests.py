"""Reading an ECR image's platforms from its manifest, at the wire (botocore Stubber: any other call, or
other parameters, fails the test)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_optimizer.confirm.manifests import (
    ACCEPTED_MEDIA_TYPES,
    DOCKER_MANIFEST,
    MANIFEST_LIST,
    OCI_INDEX,
    ecr_image,
    image_platforms,
)

REGISTRY = "123456789012"
IMAGE = f"{REGISTRY}.dkr.ecr.us-east-1.amazonaws.com/team/ranker:3.1"
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def request(image_id: dict[str, str] | None = None, repository: str = "team/ranker") -> dict[str, Any]:
    return {
        "registryId": REGISTRY,
        "repositoryName": repository,
        "imageIds": [image_id or {"imageTag": "3.1"}],
        "acceptedMediaTypes": ACCEPTED_MEDIA_TYPES,
    }


def answer(manifest: dict[str, Any], media_type: str) -> dict[str, Any]:
    return {
        "images": [
            {
                "registryId": REGISTRY,
                "repositoryName": "team/ranker",
                "imageId": {"imageTag": "3.1", "imageDigest": DIGEST},
                "imageManifest": json.dumps(manifest),
                "imageManifestMediaType": media_type,
            }
        ],
        "failures": [],
    }


def platform(architecture: str, os: str = "linux") -> dict[str, Any]:
    return {
        "mediaType": DOCKER_MANIFEST,
        "digest": DIGEST,
        "size": 1,
        "platform": {"architecture": architecture, "os": os},
    }


def test_a_multi_architecture_manifest_list_names_both_platforms(ecr: tuple[Any, Stubber]) -> None:
    """GIVEN a Docker manifest list for amd64 and arm64  WHEN the image's platforms are read
    THEN BatchGetImage is asked for the list and index media types, and both architectures come back."""
    client, stubber = ecr
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_LIST,
        "manifests": [platform("amd64"), platform("arm64")],
    }
    stubber.add_response("batch_get_image", answer(manifest, MANIFEST_LIST), request())
    assert image_platforms(client, IMAGE) == {"amd64", "arm64"}
    assert {MANIFEST_LIST, OCI_INDEX} <= set(ACCEPTED_MEDIA_TYPES)


def test_an_oci_index_by_digest_ignores_attestation_entries(ecr: tuple[Any, Stubber]) -> None:
    """GIVEN an OCI index (buildx) for arm64 with an attestation entry ("unknown"), named by digest
    WHEN its platforms are read THEN only arm64, asked for by digest."""
    client, stubber = ecr
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [platform("arm64"), platform("unknown", "unknown")],
    }
    stubber.add_response("batch_get_image", answer(manifest, OCI_INDEX), request({"imageDigest": DIGEST}))
    image = f"{REGISTRY}.dkr.ecr.us-east-1.amazonaws.com/team/ranker@{DIGEST}"
    assert image_platforms(client, image) == {"arm64"}


def test_a_single_platform_manifest_leaves_the_platforms_unknown(ecr: tuple[Any, Stubber]) -> None:
    """GIVEN a single-platform Docker manifest (its architecture only in the config blob)
    THEN None: unknown, never taken for x86 nor arm64."""
    client, stubber = ecr
    manifest = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {"digest": DIGEST}, "layers": []}
    stubber.add_response("batch_get_image", answer(manifest, DOCKER_MANIFEST), request())
    assert image_platforms(client, IMAGE) is None


def test_an_image_ecr_reports_as_a_failure_is_unreadable(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    failure = {
        "images": [],
        "failures": [
            {"imageId": {"imageTag": "3.1"}, "failureCode": "ImageNotFound", "failureReason": "gone"}
        ],
    }
    stubber.add_response("batch_get_image", failure, request())
    assert image_platforms(client, IMAGE) is None


@pytest.mark.parametrize("code", ["RepositoryNotFoundException", "AccessDeniedException"])
def test_a_missing_repository_or_a_denied_call_is_unreadable(ecr: tuple[Any, Stubber], code: str) -> None:
    client, stubber = ecr
    stubber.add_client_error("batch_get_image", code, "no", expected_params=request())
    assert image_platforms(client, IMAGE) is None


@pytest.mark.parametrize(
    "image",
    [
        "python:3.11-slim",  # Docker Hub
        "public.ecr.aws/team/ranker:3.1",  # ECR Public
        f"{REGISTRY}.dkr.ecr.eu-west-1.amazonaws.com/team/ranker:3.1",  # another region than the client's
    ],
)
def test_an_image_this_client_cannot_read_is_unknown_without_a_call(
    ecr: tuple[Any, Stubber], image: str
) -> None:
    client, _ = ecr  # no response queued: any call fails the test
    assert image_platforms(client, image) is None


def test_an_untagged_ecr_image_means_latest() -> None:
    parsed = ecr_image(f"{REGISTRY}.dkr.ecr.us-east-1.amazonaws.com/ranker")
    assert parsed is not None and parsed.image_id() == {"imageTag": "latest"}
