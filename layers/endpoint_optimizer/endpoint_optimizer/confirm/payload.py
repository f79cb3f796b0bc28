"""The sample payload an Inference Recommender job sends to the model: one `.tar.gz` of request bodies
(CreateInferenceRecommendationsJob InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl).

Where it comes from, first found wins:
1. a URL the caller passes (the CLI's --payload), used as is;
2. the endpoint's tag `endpoint-optimizer:sample-payload` = s3://bucket/key.tar.gz, used as is;
3. the endpoint's Data Capture in S3: up to MAX_CAPTURED_REQUESTS captured request bodies, newest files
   first, packed into a .tar.gz under `recommender/` in the artifact bucket (or, without one, the
   capture bucket). Captured files are "s3://{destination-bucket-prefix}/{endpoint-name}/{variant-name}/
   yyyy/mm/dd/hh/filename.jsonl", one JSON record a line whose captureData.endpointInput holds
   observedContentType, data and encoding CSV | JSON | BASE64 (SageMaker developer guide, "Capture data
   from real-time endpoint" and "View captured data"; read 2026-12-01).
Neither: a PayloadMissing that says exactly how to add one.

AWS access: DescribeEndpoint, ListTags, ListObjectsV2, GetObject and PutObject on clients passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from endpoint_optimizer.decide.confirm.choose import missing_payload_how_to
from endpoint_optimizer.decide.confirm.thresholds import SAMPLE_PAYLOAD_TAG

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

PAYLOAD_TAG = SAMPLE_PAYLOAD_TAG
# Optional companion tag: the MIME type(s) of the tagged payload, comma-separated (PayloadConfig.
# SupportedContentTypes); without it IR is told none and uses the model's own.
CONTENT_TYPE_TAG = "endpoint-optimizer:sample-payload-content-type"
PAYLOAD_PREFIX = "recommender/"
# Enough distinct requests for a load test to vary its input, few enough to read in one Lambda call.
MAX_CAPTURED_REQUESTS = 20
# Capture files are hourly; the newest few hold MAX_CAPTURED_REQUESTS requests on any endpoint with
# traffic. Bounded so an endpoint with years of capture is not listed to the end.
MAX_CAPTURE_FILES_READ = 10
MAX_LISTED_KEYS = 5_000
LIST_PAGE_SIZE = 1000  # ListObjectsV2 MaxKeys: at most 1,000 keys a page (S3 API reference)
_EXTENSIONS = {"text/csv": "csv", "application/json": "json", "application/jsonlines": "jsonl"}


@dataclass(frozen=True)
class SamplePayload:
    """Where the .tar.gz is, the content types of its requests, and where it came from."""

    url: str
    content_types: tuple[str, ...] = ()
    source: str = "tag"  # "argument" | "tag" | "data-capture"


@dataclass(frozen=True)
class PayloadMissing:
    """No payload: the reason, which says how to add one (the report and the card show it)."""

    reason: str


def how_to_add_a_payload(endpoint_name: str, detail: str = "") -> str:
    """decide.confirm's how-to (the words the report and card show), with what was found, if anything."""
    return (
        f"{detail}; {missing_payload_how_to(endpoint_name)}"
        if detail
        else missing_payload_how_to(endpoint_name)
    )


def split_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/key -> (bucket, key)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def _content_types(tags: dict[str, str]) -> tuple[str, ...]:
    raw = tags.get(CONTENT_TYPE_TAG, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _recent_capture_keys(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    """The newest capture files under `prefix` (keys sort by yyyy/mm/dd/hh within a variant)."""
    keys: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE})
    for page in pages:
        keys.extend(item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".jsonl"))
        if len(keys) >= MAX_LISTED_KEYS:
            break
    return sorted(keys, reverse=True)[:MAX_CAPTURE_FILES_READ]


def _request_body(record: dict[str, Any]) -> tuple[bytes, str] | None:
    """(body, content type) of one captured request; None for a record without input."""
    endpoint_input = (record.get("captureData") or {}).get("endpointInput") or {}
    data = endpoint_input.get("data")
    if not isinstance(data, str):
        return None
    content_type = str(endpoint_input.get("observedContentType") or "application/octet-stream")
    if str(endpoint_input.get("encoding", "")).upper() == "BASE64":
        try:
            return base64.b64decode(data, validate=True), content_type
        except binascii.Error:
            return None
    return data.encode("utf-8"), content_type


def captured_requests(s3: S3Client, bucket: str, prefix: str, limit: int) -> list[tuple[bytes, str]]:
    """Up to `limit` captured request bodies with their content types, newest files first."""
    found: list[tuple[bytes, str]] = []
    for key in _recent_capture_keys(s3, bucket, prefix):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", errors="replace")
        for line in body.splitlines():
            if len(found) >= limit:
                return found
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and (request := _request_body(record)) is not None:
                found.append(request)
    return found


def pack_payload(requests: list[tuple[bytes, str]]) -> bytes:
    """The .tar.gz IR expects: one file a request. Deterministic (fixed mtime and owner), so the same
    requests give the same bytes and the same S3 key."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for number, (body, content_type) in enumerate(requests, start=1):
            info = tarfile.TarInfo(f"request-{number:03d}.{_EXTENSIONS.get(content_type, 'bin')}")
            info.size, info.mtime, info.mode = len(body), 0, 0o644
            archive.addfile(info, io.BytesIO(body))
    return _fixed_gzip_header(buffer.getvalue())


def _fixed_gzip_header(data: bytes) -> bytes:
    # gzip's header carries the write time (bytes 4-7): zero it so equal archives are equal bytes.
    return data[:4] + b"\x00\x00\x00\x00" + data[8:]


def _from_data_capture(
    s3: S3Client, endpoint_name: str, destination: str, bucket: str | None
) -> SamplePayload | PayloadMissing:
    capture_bucket, capture_prefix = split_s3_url(destination)
    prefix = f"{capture_prefix.rstrip('/')}/{endpoint_name}/".lstrip("/")
    requests = captured_requests(s3, capture_bucket, prefix, MAX_CAPTURED_REQUESTS)
    if not requests:
        return PayloadMissing(
            how_to_add_a_payload(endpoint_name, f"Data Capture is on but {destination} holds no request yet")
        )
    archive = pack_payload(requests)
    target_bucket = bucket or capture_bucket
    key = f"{PAYLOAD_PREFIX}{endpoint_name}/{hashlib.sha256(archive).hexdigest()[:16]}.tar.gz"
    s3.put_object(Bucket=target_bucket, Key=key, Body=archive, ContentType="application/gzip")
    content_types = tuple(dict.fromkeys(content_type for _, content_type in requests))
    return SamplePayload(f"s3://{target_bucket}/{key}", content_types, source="data-capture")


def payload_from(
    s3: S3Client,
    endpoint_name: str,
    described: dict[str, Any],
    tags: dict[str, str],
    *,
    bucket: str | None,
    explicit_url: str | None = None,
) -> SamplePayload | PayloadMissing:
    """The payload from what was already read: DescribeEndpoint's answer and the endpoint's tags."""
    for url, source in ((explicit_url, "argument"), (tags.get(PAYLOAD_TAG, "").strip(), "tag")):
        if not url:
            continue
        if not url.startswith(("s3://", "https://")) or not url.endswith(".tar.gz"):
            named = "--payload" if source == "argument" else f"the tag {PAYLOAD_TAG}"
            return PayloadMissing(
                f"{named} is {url!r}, not the s3:// URL of a .tar.gz Inference Recommender takes"
            )
        return SamplePayload(url, _content_types(tags), source=source)
    capture = described.get("DataCaptureConfig") or {}
    if capture.get("EnableCapture") and capture.get("DestinationS3Uri"):
        return _from_data_capture(s3, endpoint_name, str(capture["DestinationS3Uri"]), bucket)
    return PayloadMissing(how_to_add_a_payload(endpoint_name))


def sample_payload(
    sagemaker: SageMakerClient,
    s3: S3Client,
    endpoint_name: str,
    *,
    bucket: str | None,
    explicit_url: str | None = None,
) -> SamplePayload | PayloadMissing:
    """The sample payload for `endpoint_name`'s benchmark (see the module docstring for the order):
    DescribeEndpoint and ListTags, then `payload_from`."""
    described: dict[str, Any] = dict(sagemaker.describe_endpoint(EndpointName=endpoint_name))
    tags = {
        tag["Key"]: tag["Value"]
        for tag in sagemaker.list_tags(ResourceArn=described["EndpointArn"]).get("Tags", [])
    }
    return payload_from(s3, endpoint_name, described, tags, bucket=bucket, explicit_url=explicit_url)
