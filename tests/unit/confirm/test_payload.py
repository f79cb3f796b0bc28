"""The sample payload at the wire: which source wins, the exact calls each source makes, what is packed
from Data Capture, and the how-to when there is none."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from endpoint_optimizer.confirm.payload import (
    MAX_CAPTURED_REQUESTS,
    PAYLOAD_TAG,
    PayloadMissing,
    SamplePayload,
    pack_payload,
    sample_payload,
)
from tests.conftest import NOW

ENDPOINT = "shop-ranker"
ARN = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"
CAPTURE = "s3://capture-bucket/datacapture"
ARTIFACTS = "endpoint-optimizer-artifacts"


@pytest.fixture
def sagemaker() -> Iterator[Stubber]:
    with Stubber(boto3.client("sagemaker", region_name="us-east-1")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def s3() -> Iterator[Stubber]:
    with Stubber(boto3.client("s3", region_name="us-east-1")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_endpoint(stub: Stubber, *, tags: dict[str, str], capture: bool) -> None:
    endpoint: dict[str, Any] = {
        "EndpointName": ENDPOINT,
        "EndpointArn": ARN,
        "EndpointConfigName": f"{ENDPOINT}-config",
        "EndpointStatus": "InService",
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    if capture:
        endpoint["DataCaptureConfig"] = {
            "EnableCapture": True,
            "CaptureStatus": "Started",
            "CurrentSamplingPercentage": 10,
            "DestinationS3Uri": CAPTURE,
            "KmsKeyId": "",
        }
    stub.add_response("describe_endpoint", endpoint, {"EndpointName": ENDPOINT})
    stub.add_response(
        "list_tags", {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}, {"ResourceArn": ARN}
    )


def record(data: str, encoding: str = "CSV", content_type: str = "text/csv") -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                }
            },
            "eventMetadata": {"eventId": "e", "inferenceTime": "2026-11-30T11:00:00Z"},
            "eventVersion": "0",
        }
    )


def body(text: str) -> StreamingBody:
    data = text.encode()
    return StreamingBody(io.BytesIO(data), len(data))


def unpacked(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def test_the_tag_names_the_payload_and_nothing_is_read_or_written_in_s3(
    sagemaker: Stubber, s3: Stubber
) -> None:
    """GIVEN the endpoint tagged with a .tar.gz URL and a content type
    WHEN the payload is looked up THEN that URL is used as is (the s3 Stubber has no answer: any call fails)."""
    url = "s3://team-bucket/payloads/ranker.tar.gz"
    expect_endpoint(
        sagemaker,
        tags={PAYLOAD_TAG: url, "endpoint-optimizer:sample-payload-content-type": "text/csv"},
        capture=True,
    )
    found = sample_payload(sagemaker.client, s3.client, ENDPOINT, bucket=ARTIFACTS)  # type: ignore[arg-type]
    assert found == SamplePayload(url, ("text/csv",), source="tag")


def test_an_explicit_url_wins_over_the_tag(sagemaker: Stubber, s3: Stubber) -> None:
    """GIVEN a tag and a --payload URL WHEN the payload is looked up THEN the argument wins."""
    expect_endpoint(sagemaker, tags={PAYLOAD_TAG: "s3://team-bucket/old.tar.gz"}, capture=False)
    found = sample_payload(
        sagemaker.client,  # type: ignore[arg-type]
        s3.client,  # type: ignore[arg-type]
        ENDPOINT,
        bucket=ARTIFACTS,
        explicit_url="s3://mine/new.tar.gz",
    )
    assert found == SamplePayload("s3://mine/new.tar.gz", (), source="argument")


def test_a_tag_that_is_not_a_tar_gz_url_says_what_is_wrong(sagemaker: Stubber, s3: Stubber) -> None:
    """GIVEN the tag names a .csv file WHEN the payload is looked up
    THEN no payload, and the reason quotes the value and says IR takes the URL of a .tar.gz."""
    expect_endpoint(sagemaker, tags={PAYLOAD_TAG: "s3://team-bucket/sample.csv"}, capture=False)
    found = sample_payload(sagemaker.client, s3.client, ENDPOINT, bucket=ARTIFACTS)  # type: ignore[arg-type]
    assert isinstance(found, PayloadMissing)
    assert "'s3://team-bucket/sample.csv'" in found.reason and ".tar.gz" in found.reason


def test_without_tag_or_capture_the_reason_says_how_to_add_a_payload(sagemaker: Stubber, s3: Stubber) -> None:
    """GIVEN no tag and no Data Capture WHEN the payload is looked up
    THEN PayloadMissing names the tag to set and Data Capture as the other way."""
    expect_endpoint(sagemaker, tags={"team": "search"}, capture=False)
    found = sample_payload(sagemaker.client, s3.client, ENDPOINT, bucket=ARTIFACTS)  # type: ignore[arg-type]
    assert isinstance(found, PayloadMissing)
    assert f"tag the endpoint {PAYLOAD_TAG}=s3://" in found.reason and "Data Capture" in found.reason


def test_captured_requests_newest_first_are_packed_under_recommender_in_the_artifact_bucket(
    sagemaker: Stubber, s3: Stubber
) -> None:
    """GIVEN Data Capture with two hourly files (CSV and base64 records) WHEN the payload is looked up
    THEN the newest file is read first, at most MAX_CAPTURED_REQUESTS bodies are packed one file each,
    decoded, and the archive is put under recommender/<endpoint>/ in the artifact bucket."""
    expect_endpoint(sagemaker, tags={}, capture=True)
    prefix = f"datacapture/{ENDPOINT}/"
    older = f"{prefix}AllTraffic/2026/11/30/10/a.jsonl"
    newer = f"{prefix}AllTraffic/2026/11/30/11/b.jsonl"
    s3.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": older}, {"Key": newer}, {"Key": f"{prefix}notes.txt"}], "IsTruncated": False},
        {"Bucket": "capture-bucket", "Prefix": prefix, "MaxKeys": 1000},
    )
    newest = [record(base64.b64encode(b"\x01\x02").decode(), "BASE64", "application/x-npy")]
    newest += [record(f"{i},1,2") for i in range(MAX_CAPTURED_REQUESTS + 5)]
    s3.add_response(
        "get_object", {"Body": body("\n".join(newest))}, {"Bucket": "capture-bucket", "Key": newer}
    )
    s3.add_response(
        "put_object",
        {},
        {"Bucket": ARTIFACTS, "Key": ANY, "Body": ANY, "ContentType": "application/gzip"},
    )
    put: dict[str, Any] = {}
    s3.client.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: put.update(params)
    )
    found = sample_payload(sagemaker.client, s3.client, ENDPOINT, bucket=ARTIFACTS)  # type: ignore[arg-type]
    assert isinstance(found, SamplePayload)
    assert found.url == f"s3://{ARTIFACTS}/{put['Key']}"
    files = unpacked(put["Body"])
    assert len(files) == MAX_CAPTURED_REQUESTS
    assert files["request-001.bin"] == b"\x01\x02" and files["request-002.csv"] == b"0,1,2"
    assert found.url.startswith(f"s3://{ARTIFACTS}/recommender/{ENDPOINT}/") and found.url.endswith(".tar.gz")
    assert found.content_types == ("application/x-npy", "text/csv")
    assert found.source == "data-capture"


def test_capture_enabled_but_empty_says_so(sagemaker: Stubber, s3: Stubber) -> None:
    """GIVEN Data Capture on but nothing captured yet WHEN the payload is looked up
    THEN no payload, and the reason says the capture location holds no request yet."""
    expect_endpoint(sagemaker, tags={}, capture=True)
    s3.add_response(
        "list_objects_v2",
        {"IsTruncated": False},
        {"Bucket": "capture-bucket", "Prefix": f"datacapture/{ENDPOINT}/", "MaxKeys": 1000},
    )
    found = sample_payload(sagemaker.client, s3.client, ENDPOINT, bucket=None)  # type: ignore[arg-type]
    assert isinstance(found, PayloadMissing)
    assert f"{CAPTURE} holds no request yet" in found.reason


def test_the_archive_holds_one_file_a_request_and_is_the_same_bytes_for_the_same_requests() -> None:
    """GIVEN two CSV requests WHEN packed twice THEN the same bytes (the same S3 key), two named files."""
    requests = [(b"1,2,3", "text/csv"), (b'{"x": 1}', "application/json")]
    archive = pack_payload(requests)
    assert archive == pack_payload(requests)
    assert unpacked(archive) == {"request-001.csv": b"1,2,3", "request-002.json": b'{"x": 1}'}
