"""An in-memory S3 with the two calls the artifacts module makes (PutObject, GetObject)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.content_types: dict[tuple[str, str], str] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        self.objects[(Bucket, Key)] = Body
        self.content_types[(Bucket, Key)] = ContentType
        return {}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def keys(self, bucket: str) -> list[str]:
        return sorted(key for owner, key in self.objects if owner == bucket)

    @property
    def client(self) -> S3Client:
        return cast("S3Client", self)
