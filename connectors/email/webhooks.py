"""Inbound webhooks of mail providers that receive the mail and POST it parsed: SendGrid Inbound Parse and
Postmark. Both are verified with HTTP basic auth in the webhook URL (`https://user:pass@host/...`), as both
document; the mail then takes the same intake as SMTP and IMAP mail.

Answers: 200 once the turn was handled (or the mail was automatic); 401 without the right credentials; 422
for a payload that can never be answered (logged; SendGrid does not retry a 4xx), JSON nested deeper than
any provider writes included; 503 for temporary trouble, so the provider retries (the retry is recognised
by its Message-ID)."""

from __future__ import annotations

import base64
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.datastructures import UploadFile

from connectors.email import providers
from connectors.email.authentication import postmark_vouches, sendgrid_vouches
from connectors.email.intake import MailIntake, Outcome

log = logging.getLogger(__name__)

_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "wrong or missing basic auth"}, 413: {"description": "mail too large"},
    422: {"description": "the payload can never be answered"}, 503: {"description": "temporary failure: retry"}}

# Postmark's payload is three levels deep (object, Headers list, header object); SendGrid's envelope two.
MAX_JSON_DEPTH = 16


def parse_json(text: str | bytes, what: str = "the body") -> Any:
    """JSON from a sender we do not control: nesting past the parser's stack, or deeper than any provider
    writes (which whatever walks the value later could not follow either), is a PayloadError, not a crash."""
    try:
        value = json.loads(text)
    except RecursionError as error:
        raise providers.PayloadError(f"{what}: JSON nested too deeply") from error
    except ValueError as error:
        raise providers.PayloadError(f"{what} is not JSON: {error}") from error
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:  # an explicit stack: no recursion
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children and depth >= MAX_JSON_DEPTH:
            raise providers.PayloadError(f"{what}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
        pending.extend((child, depth + 1) for child in children)
    return value


def basic_auth(username: str, password: str) -> Callable[[Request], Awaitable[None]]:
    expected = b"Basic " + base64.b64encode(f"{username}:{password}".encode())

    async def check(request: Request) -> None:
        sent = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(sent, expected):
            raise HTTPException(401, "credentials required", headers={"WWW-Authenticate": 'Basic realm="email"'})

    return check


def webhook_router(intake: MailIntake, *, username: str, password: str, max_bytes: int) -> APIRouter:
    router = APIRouter(prefix="/email/inbound", tags=["email"])
    verified = [Depends(basic_auth(username, password))]

    async def take(raw: bytes, envelope_sender: str | None, provider: str, vouched: bool = False
                   ) -> dict[str, str]:
        try:
            outcome = await intake.receive(raw, envelope_sender=envelope_sender, sender_verified=vouched)
        except ValueError as error:
            log.warning("%s webhook: mail cannot be answered: %s", provider, error)
            raise HTTPException(422, f"mail cannot be answered: {error}") from error
        except Exception as error:
            log.exception("%s webhook: mail not handled; the provider will retry", provider)
            raise HTTPException(503, "temporary failure, please retry") from error
        return {"status": "handled" if outcome is Outcome.HANDLED else f"not answered ({outcome.value})"}

    @router.post("/sendgrid", dependencies=verified, responses=_RESPONSES)
    async def sendgrid(request: Request) -> dict[str, str]:
        """SendGrid Inbound Parse: multipart/form-data, default or raw mode."""
        if int(request.headers.get("content-length") or 0) > max_bytes:
            raise HTTPException(413, "mail too large")
        form = await request.form(max_part_size=max_bytes)
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        files = [(v.filename or "", v.content_type or "", await v.read())
                 for _, v in form.multi_items() if isinstance(v, UploadFile)]
        try:
            envelope = parse_json(fields["envelope"], "envelope") if fields.get("envelope") else {}
            parsed = providers.sendgrid(fields, files)
        except providers.PayloadError as error:
            log.warning("sendgrid webhook: %s", error)
            raise HTTPException(422, str(error)) from error
        vouched = sendgrid_vouches(fields, fields.get("from", ""))
        if isinstance(parsed, bytes):
            return await take(parsed, envelope.get("from") if isinstance(envelope, dict) else None, "sendgrid",
                              vouched)
        return await take(parsed.to_raw(), parsed.envelope_sender, "sendgrid", vouched)

    @router.post("/postmark", dependencies=verified, responses=_RESPONSES)
    async def postmark(request: Request) -> dict[str, str]:
        """Postmark's inbound webhook: JSON."""
        body = await request.body()
        if len(body) > max_bytes * 2:  # attachments arrive base64-encoded
            raise HTTPException(413, "mail too large")
        try:
            payload = parse_json(body)
            parsed = providers.postmark(payload)
        except providers.PayloadError as error:
            log.warning("postmark webhook: %s", error)
            raise HTTPException(422, f"not a Postmark inbound payload: {error}") from error
        headers = [(str(h.get("Name")), str(h.get("Value") or "")) for h in payload.get("Headers") or []
                   if isinstance(h, dict) and h.get("Name")]
        return await take(parsed.to_raw(), None, "postmark", postmark_vouches(headers))

    return router
