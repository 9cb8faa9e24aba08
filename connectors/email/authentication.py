"""Whether a mail provider vouches for the sender: SPF and DKIM both passing for the From address's domain,
as the provider's webhook reports them. Only the provider's own fields count, never headers the mail itself
carries (anyone can write "dkim=pass" into a mail), so a sender whose address is not proven stays anonymous to
actions that read a customer's own data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email.utils import parseaddr

_SENDGRID_DKIM = re.compile(r"@([\w.-]+)\s*:\s*(\w+)")


def domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].strip().lower()


def sendgrid_vouches(fields: Mapping[str, str], sender: str) -> bool:
    """SendGrid Inbound Parse sets `SPF` ("pass") and `dkim` ("{@example.com : pass}") itself."""
    domain = domain_of(sender)
    spf = fields.get("SPF", "").strip().lower() == "pass"
    dkim = any(d.lower() == domain and verdict.lower() == "pass"
               for d, verdict in _SENDGRID_DKIM.findall(fields.get("dkim", "")))
    return bool(domain) and spf and dkim


def postmark_vouches(headers: Iterable[tuple[str, str]]) -> bool:
    """Postmark puts its own checks first in `Headers`: `Received-SPF` from its receiving server and
    SpamAssassin's `X-Spam-Tests`, where DKIM_VALID_AU is a valid signature of the author's own domain. Only
    the first of each name is Postmark's; later ones came with the mail."""
    first: dict[str, str] = {}
    for name, value in headers:
        first.setdefault(name.lower(), value)
    spf = first.get("received-spf", "").strip().lower().startswith("pass")
    tests = {t.strip().upper() for t in first.get("x-spam-tests", "").split(",")}
    return spf and "DKIM_VALID_AU" in tests
