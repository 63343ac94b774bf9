"""What a file really is, from its first bytes, checked against what the uploader declared.

Signatures: PDF (ISO 32000, `%PDF-`), JPEG (`FF D8 FF`), PNG (RFC 2083 signature), TIFF (`II*\\0`
or `MM\\0*`), and ZIP containers (`PK\\x03\\x04`). A ZIP is told apart by its entry names, read
from the central directory without inflating anything: OFD (GB/T 33190, `OFD.xml` at the root)
or an Office Open XML document (ECMA-376: `word/`, `xl/` or `ppt/` parts). Anything else is refused.
"""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from hub.errors import FileTypeMismatch, UnsupportedFileType

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
OFD = "application/ofd"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

SUPPORTED = (PDF, JPEG, PNG, TIFF, OFD, DOCX, XLSX, PPTX)
# Other names clients use for the same types.
ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "application/x-pdf": PDF, "application/vnd.ofd": OFD}

SIGNATURES = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
)
# The extensions each type goes by; the first is given to a file whose name says another type.
EXTENSIONS = {
    PDF: (".pdf",),
    JPEG: (".jpg", ".jpeg", ".jpe"),
    PNG: (".png",),
    TIFF: (".tif", ".tiff"),
    OFD: (".ofd",),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
    PPTX: (".pptx",),
}
ZIP_SIGNATURE = b"PK\x03\x04"
OOXML_PARTS = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))
HEAD_BYTES = 16


def normalize(content_type: str) -> str:
    bare = content_type.split(";")[0].strip().lower()
    return ALIASES.get(bare, bare)


def detect(source: BinaryIO) -> str | None:
    """The content type of a seekable file, or None if it is none the hub accepts."""
    source.seek(0)
    head = source.read(HEAD_BYTES)
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head.startswith(ZIP_SIGNATURE):
        return _zip_kind(source)
    return None


def _zip_kind(source: BinaryIO) -> str | None:
    source.seek(0)
    try:
        names = zipfile.ZipFile(source).namelist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        return None
    if "OFD.xml" in names:
        return OFD
    if "[Content_Types].xml" in names:
        for prefix, content_type in OOXML_PARTS:
            if any(name.startswith(prefix) for name in names):
                return content_type
    return None


def check_declared(source: BinaryIO, declared: str) -> str:
    """The detected type if it matches the declared one; otherwise a typed refusal."""
    wanted = normalize(declared)
    detected = detect(source)
    if detected is None:
        raise UnsupportedFileType(
            "the file is not a PDF, JPEG, PNG, TIFF, OFD or Office (docx/xlsx/pptx) document",
            declared=wanted,
        )
    if wanted != detected:
        raise FileTypeMismatch(
            f"the file is {detected} but was declared as {wanted or 'nothing'}", declared=wanted, detected=detected
        )
    return detected


def name_with_extension(file_name: str, content_type: str, max_length: int) -> str:
    """The name with an extension of the detected type: `invoice.html` holding a PDF is `invoice.pdf`.

    A browser or desktop that opens a download by its extension must not take a PDF for a web
    page (or a script); the name's stem, which the uploader chose, is kept."""
    extensions = EXTENSIONS[content_type]
    stem, dot, extension = file_name.rpartition(".")
    if dot and "." + extension.lower() in extensions:
        return file_name
    base = stem if dot and stem else file_name
    return base[: max_length - len(extensions[0])] + extensions[0]
