"""S3-compatible object storage through the minio client, with per-organization key prefixes."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from typing import Any

from minio import Minio
from minio.error import S3Error

from services.common.settings import StorageSettings

_MISSING = ("NoSuchKey", "NoSuchObject", "ResourceNotFound")


class ObjectMissing(Exception):
    """The object is not in the store (never written, or deleted): asking again will not help."""


def _missing(exc: S3Error) -> bool:
    return exc.code in _MISSING


def organization_prefix(organization_id: str) -> str:
    """Every object of an organization lives under this prefix (documents, artifacts, exports)."""
    return f"orgs/{organization_id}/"


def export_key(organization_id: str, export_id: str) -> str:
    """Where an archive of the organization's data (exportOrganization) is kept."""
    return organization_prefix(organization_id) + f"exports/{export_id}.zip"


def document_prefix(organization_id: str, document_id: str) -> str:
    """Every object of a document lives under its organization's prefix."""
    return f"orgs/{organization_id}/documents/{document_id}/"


def original_key(organization_id: str, document_id: str) -> str:
    return document_prefix(organization_id, document_id) + "original"


def extracted_key(organization_id: str, document_id: str, generation: int) -> str:
    """Extracted text and chunks of one processing generation (JSON)."""
    return document_prefix(organization_id, document_id) + f"extracted-g{generation}.json"


class ObjectStore:
    """Async facade over the (blocking) minio client; calls run in threads."""

    def __init__(self, settings: StorageSettings, *, public_endpoint: str | None = None) -> None:
        self.bucket = settings.s3_bucket
        self._client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
        )

    async def ensure_bucket(self) -> None:
        def ensure() -> None:
            if not self._client.bucket_exists(self.bucket):
                try:
                    self._client.make_bucket(self.bucket)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

        await asyncio.to_thread(ensure)

    async def put_path(self, key: str, path: str, content_type: str) -> None:
        """Upload a local file (multipart for large ones), without holding it in memory."""
        await asyncio.to_thread(self._client.fput_object, self.bucket, key, path, content_type=content_type)

    async def put_json(self, key: str, value: Any) -> None:
        data = json.dumps(value, ensure_ascii=False).encode()
        await asyncio.to_thread(
            self._client.put_object, self.bucket, key, io.BytesIO(data), len(data), content_type="application/json"
        )

    async def get_json(self, key: str) -> Any:
        """The JSON stored at `key`; ObjectMissing when there is none (other S3 errors are worth a retry)."""

        def read() -> Any:
            try:
                response = self._client.get_object(self.bucket, key)
            except S3Error as exc:
                if _missing(exc):
                    raise ObjectMissing(key) from exc
                raise
            try:
                return json.loads(response.read())
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(read)

    async def download(self, key: str, path: str) -> None:
        """Copy the object at `key` to `path`; ObjectMissing when there is none."""

        def fetch() -> None:
            try:
                self._client.fget_object(self.bucket, key, path)
            except S3Error as exc:
                if _missing(exc):
                    raise ObjectMissing(key) from exc
                raise

        await asyncio.to_thread(fetch)

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; return how many there were."""

        def delete() -> int:
            keys = [o.object_name for o in self._client.list_objects(self.bucket, prefix=prefix, recursive=True)]
            for key in keys:
                if key:
                    self._client.remove_object(self.bucket, key)
            return len(keys)

        return await asyncio.to_thread(delete)

    async def presigned_get(self, key: str, *, expires_s: int, file_name: str) -> str:
        headers: dict[str, str | list[str] | tuple[str]] = {
            "response-content-disposition": f'attachment; filename="{file_name}"'
        }
        return await asyncio.to_thread(
            self._client.presigned_get_object,
            self.bucket,
            key,
            expires=timedelta(seconds=expires_s),
            response_headers=headers,
        )

    async def exists(self, key: str) -> bool:
        def stat() -> bool:
            try:
                self._client.stat_object(self.bucket, key)
            except S3Error as exc:
                if _missing(exc):
                    return False
                raise
            return True

        return await asyncio.to_thread(stat)
