"""Parse `HUB_BLOB_URL`: `file://<folder>` or `s3://<bucket>[/<prefix>]?endpoint=host:port&...`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

S3_OPTIONS = frozenset({"endpoint", "secure", "access_key", "secret_key", "region"})


class InvalidBlobUrl(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class BlobLocation:
    scheme: str
    path: Path | None = None
    bucket: str = ""
    prefix: str = ""
    endpoint: str = ""
    secure: bool = True
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"


def parse_blob_url(url: str) -> BlobLocation:
    parts = urlsplit(url)
    if parts.scheme == "file":
        # file://./var/blobs is relative (netloc "."), file:///srv/blobs absolute.
        raw = unquote(parts.netloc + parts.path)
        if not raw:
            raise InvalidBlobUrl("file:// blob URL names no folder")
        return BlobLocation("file", path=Path(raw))
    if parts.scheme == "s3":
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = sorted(set(options) - S3_OPTIONS)
        if unknown:
            raise InvalidBlobUrl(f"unknown s3 blob URL options: {', '.join(unknown)}")
        if not parts.netloc:
            raise InvalidBlobUrl("s3:// blob URL names no bucket")
        if "endpoint" not in options:
            raise InvalidBlobUrl("s3:// blob URL needs ?endpoint=host:port")
        secure = options.get("secure", "true").lower()
        if secure not in ("true", "false"):
            raise InvalidBlobUrl("secure must be true or false")
        return BlobLocation(
            "s3",
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            endpoint=options["endpoint"],
            secure=secure == "true",
            access_key=options.get("access_key"),
            secret_key=options.get("secret_key"),
            region=options.get("region", "us-east-1"),
        )
    raise InvalidBlobUrl(f"blob URL scheme must be file or s3, not {parts.scheme or 'none'!r}")
