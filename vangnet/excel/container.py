"""The workbook as a file: what is refused before openpyxl sees a single byte of it.

An .xlsx file is a zip archive of XML parts. Refused, each with a Dutch message: a file over
the size limit (checked before it is read whole), a macro workbook (by its suffix, its content
types, or a VBA, macro sheet or ActiveX part), an old .xls or password-protected file (an OLE2
container), anything that is not a zip archive, a corrupt archive, an archive of too many
parts, and an archive whose parts unpack to more than the limit. The last is counted while
every part is really unpacked, in chunks, and stopped at the limit: the sizes an archive
declares are never trusted (a zip bomb lies about them).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from vangnet.excel.layout import Limits
from vangnet.exceptions import FormError, FormProblem
from vangnet.messages import message
from vangnet.money import format_number

__all__ = ["MACRO_SUFFIXES", "WorkbookSource", "checked_bytes"]

# a path, the bytes of the file, or a binary stream
WorkbookSource = Path | str | bytes | bytearray | memoryview | BinaryIO

MACRO_SUFFIXES = frozenset({".xlsm", ".xltm", ".xlam", ".xla", ".xlsb"})
_OTHER_SUFFIXES = frozenset({".xls", ".xlt", ".ods", ".csv", ".numbers"})
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
# parts that hold code: VBA projects, Excel 4 macro sheets, ActiveX controls
_CODE_PARTS = ("vbaproject", "xl/macrosheets/", "xl/activex/", "vbadata")
_CHUNK = 64 * 1024


def _refuse(key: str, **values: object) -> FormError:
    return FormError([FormProblem(None, None, message(key, **values))])


def _megabytes(n: int) -> str:
    return f"{format_number(Decimal(n) / (1024 * 1024), 1)} MB"


def _read(source: WorkbookSource, limit: int) -> bytes:
    """The bytes of the source, refusing it when it holds more than `limit`; never more than
    `limit` + 1 bytes are read."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | Path):
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix in MACRO_SUFFIXES:
            raise _refuse("xlsx_macro_suffix", suffix=suffix)
        if suffix in _OTHER_SUFFIXES:
            raise _refuse("xlsx_other_suffix", suffix=suffix)
        try:
            size = path.stat().st_size
            if size > limit:
                raise _refuse("xlsx_too_large", size=_megabytes(size), limit=_megabytes(limit))
            with path.open("rb") as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            reason = exc.strerror or "onbekende fout"
            raise _refuse("xlsx_unreadable_file", reason=reason) from None
    else:
        data = source.read(limit + 1)
        if len(data) > limit:
            shown = f"groter dan {_megabytes(limit)}"
            raise _refuse("xlsx_too_large", size=shown, limit=_megabytes(limit))
    if len(data) > limit:
        raise _refuse("xlsx_too_large", size=_megabytes(len(data)), limit=_megabytes(limit))
    return data


def _unpack_all(archive: zipfile.ZipFile, limits: Limits) -> bytes:
    """Unpack every part, counting what it really gives, and refuse past the limit; return
    the content types part (the list of what the parts are)."""
    total = 0
    content_types = bytearray()
    for info in archive.infolist():
        if info.is_dir():
            continue
        keep = info.filename == "[Content_Types].xml"
        with archive.open(info) as part:
            while chunk := part.read(_CHUNK):
                total += len(chunk)
                if total > limits.max_unpacked_bytes:
                    raise _refuse(
                        "xlsx_unpacks_too_large", limit=_megabytes(limits.max_unpacked_bytes)
                    )
                if keep:
                    content_types += chunk
    return bytes(content_types)


def _has_code_parts(archive: zipfile.ZipFile) -> bool:
    return any(part in name.lower() for name in archive.namelist() for part in _CODE_PARTS)


def checked_bytes(source: WorkbookSource, limits: Limits) -> bytes:
    """The bytes of an .xlsx workbook that passed every check above; `FormError` otherwise."""
    data = _read(source, limits.max_file_bytes)
    if data.startswith(_OLE2):
        raise _refuse("xlsx_old_format")
    if not data.startswith(_ZIP):
        raise _refuse("xlsx_not_zip")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if len(archive.infolist()) > limits.max_zip_members:
                raise _refuse("xlsx_too_many_parts", limit=limits.max_zip_members)
            if _has_code_parts(archive):
                raise _refuse("xlsx_macro")
            content_types = _unpack_all(archive, limits).lower()
    except FormError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise _refuse("xlsx_corrupt", detail=_describe(exc)) from None
    except NotImplementedError:
        raise _refuse("xlsx_corrupt", detail="onbekende manier van inpakken") from None
    except RuntimeError:
        # zipfile raises this for an encrypted part
        raise _refuse("xlsx_corrupt", detail="een deel is versleuteld") from None
    if b"macroenabled" in content_types or b"vbaproject" in content_types:
        raise _refuse("xlsx_macro")
    return data


def _describe(exc: Exception) -> str:
    text = str(exc).lower()
    if "crc" in text:
        return "een deel klopt niet met zijn controlegetal"
    if "truncated" in text or isinstance(exc, EOFError):
        return "het bestand is afgebroken"
    return "het zip-bestand is ongeldig"
