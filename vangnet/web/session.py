"""Who is looking at a page, and reading a posted form safely.

`PageUser` is the pages' one dependency for the session: it resolves the session cookie with
`Accounts.session_identity` (vangnet.service.accounts) and gives the `Identity`, or None for
nobody signed in. Every page declares it, so the layout can show who is signed in.

`read_form` reads a posted form with the same size limit as the API's bodies, refuses a post
from another site (the `Origin` header, when the browser sends one, must be this site), and for
a signed-in user checks the session's CSRF token in the hidden field `csrf_token`. The login
form, before any session exists, uses a double-submit token: a random value in a cookie and in
the form (`LOGIN_COOKIE`).

`read_upload` reads a posted `multipart/form-data` form (a file upload) the same way, in
memory only: a file's bytes never touch a temporary file on disk (attachments describe
threatened people), the file name the browser sends is dropped, and a file beyond its limit is
reported as too large (so the page can say so next to the field) rather than cut off.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from vangnet.service.accounts import COOKIE_NAME, check_csrf
from vangnet.service.body import read_body
from vangnet.service.identity import Identity
from vangnet.service.problems import ApiProblem

__all__ = [
    "CSRF_FIELD",
    "LOGIN_COOKIE",
    "MAX_FORM",
    "PageUser",
    "PostedFile",
    "Upload",
    "accounts_of",
    "client_origin",
    "login_cookie",
    "login_token_ok",
    "read_form",
    "read_upload",
]

CSRF_FIELD = "csrf_token"
LOGIN_COOKIE = "vangnet_formulier"
MAX_FORM = 1024 * 1024  # the same limit as a JSON body
# a form of 500 measure lines has about 3,600 fields
MAX_FIELDS = 5000


def client_origin(request: Request) -> str:
    return request.client.host if request.client else "onbekend"


def accounts_of(request: Request) -> Any:
    """The service's `Accounts` (app.state.accounts), or None before accounts are set up."""
    return getattr(request.app.state, "accounts", None)


async def _page_user(request: Request) -> Identity | None:
    request.state.page_user = None
    accounts = accounts_of(request)
    token = request.cookies.get(COOKIE_NAME)
    if accounts is None or not token:
        return None
    identity: Identity | None = await run_in_threadpool(
        accounts.session_identity, token, client_origin(request)
    )
    request.state.page_user = identity
    return identity


PageUser = Annotated[Identity | None, Depends(_page_user)]


def _same_site(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # no Origin, or `null` (what Chromium sends under `Referrer-Policy: no-referrer`, which
        # every response here carries): no signal either way; the session's SameSite=Strict
        # cookie and the CSRF token protect what needs protecting
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request, user: Identity | None) -> dict[str, str]:
    """The posted form's fields (the first value of each name); 413 when it is too large,
    415 when it is not a plain form, 403 from another site or without the session's token."""
    if not _same_site(request):
        raise HTTPException(403)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415)
    try:
        body = await read_body(request, limit=MAX_FORM)
    except ApiProblem as exc:
        raise HTTPException(exc.status) from None
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400) from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    if user is not None and not check_csrf(user, form.get(CSRF_FIELD)):
        raise HTTPException(403)
    return form


def login_cookie(request: Request) -> tuple[str, str | None]:
    """The login form's double-submit token: the cookie's value, or a new one with the
    `Set-Cookie` value to send (None when the cookie is there already)."""
    current = request.cookies.get(LOGIN_COOKIE)
    if current and 20 <= len(current) <= 100:
        return current, None
    token = secrets.token_urlsafe(32)
    return token, f"{LOGIN_COOKIE}={token}; Path=/inloggen; HttpOnly; Secure; SameSite=Strict"


def login_token_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode("utf-8"), submitted.encode("utf-8"))


# --- file uploads ------------------------------------------------------------------------------

# a file form has a handful of fields: the token, a choice, the file
MAX_PARTS = 20
# what a file form may carry besides its file (the token, the fields, the parts' headers)
UPLOAD_OVERHEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class PostedFile:
    """One file of an upload: its bytes (empty when none was chosen) and the media type the
    browser declared (a hint only: the bytes decide). Its name is not kept."""

    content: bytes
    declared_type: str


@dataclass(slots=True)
class Upload:
    """A posted file form: its fields (the first value of each name), its files by field name,
    and the names of files that were larger than allowed (their bytes are not kept)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, PostedFile] = field(default_factory=dict)
    too_large: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    over: bool = False


class _Collector:
    """The parser's callbacks: the parts with their headers and bytes, each at most `limit`
    bytes (a larger part keeps no bytes and is marked)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[_Part] = []
        self._name = b""
        self._value = b""

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_part_data": self.part_data,
        }

    def part_begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise HTTPException(400)
        self.parts.append(_Part())

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        name = self._name.decode("latin-1").strip().lower()
        self.parts[-1].headers[name] = self._value.decode("latin-1").strip()
        self._name = self._value = b""

    def part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.parts[-1]
        part.size += end - start
        if part.size > self.limit:
            part.over = True
            part.chunks.clear()
        elif not part.over:
            part.chunks.append(data[start:end])


async def read_upload(request: Request, user: Identity | None, *, limit: int) -> Upload:
    """The posted file form, each file at most `limit` bytes (a larger one is named in
    `too_large`); 413 when the request is far larger than that, 415 when it is not a
    multipart form, 400 when it cannot be read, 403 from another site or without the
    session's token."""
    if not _same_site(request):
        raise HTTPException(403)
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise HTTPException(415)
    # a file somewhat over its limit is read to the end, so the page can answer next to the
    # field; anything much larger is refused as it comes in
    hard_limit = 2 * limit + UPLOAD_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > hard_limit:
        raise HTTPException(413)
    collector = _Collector(limit)
    parser = MultipartParser(boundary, collector.callbacks())
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > hard_limit:
                raise HTTPException(413)
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        raise HTTPException(400) from None
    upload = Upload()
    for part in collector.parts:
        _, disposition = parse_options_header(part.headers.get("content-disposition", ""))
        raw_name = disposition.get(b"name")
        if raw_name is None:
            raise HTTPException(400)
        name = raw_name.decode("utf-8", "replace")
        if b"filename" in disposition:
            if part.over:
                upload.too_large.add(name)
            elif name not in upload.files:
                declared_type = part.headers.get("content-type", "").split(";")[0].strip()
                upload.files[name] = PostedFile(b"".join(part.chunks), declared_type.lower())
            continue
        if part.over or part.size > MAX_FORM:
            raise HTTPException(413)
        try:
            value = b"".join(part.chunks).decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(400) from None
        upload.fields.setdefault(name, value)
    if user is not None and not check_csrf(user, upload.fields.get(CSRF_FIELD)):
        raise HTTPException(403)
    return upload
