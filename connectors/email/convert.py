"""Raw RFC 5322 mail ⇄ core models. Everything email-shaped (MIME, charsets, quoting, threading) is here."""

from __future__ import annotations

import base64
import codecs
import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from email import errors, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, parseaddr
from html import escape
from typing import Any

from bs4 import BeautifulSoup
from pydantic import BaseModel, Field

from bot.types import Citation, Message, Participant, Role

log = logging.getLogger(__name__)

CHANNEL = "email"
MAX_TEXT_CHARS = 20_000
MAX_SUBJECT_CHARS = 500
MAX_REFERENCES = 20  # RFC 5322 allows trimming long chains; the first id (the thread's root) is always kept

# Threading info kept in the conversation's slots, read back by the channel when it replies.
SLOT_SUBJECT = "email_subject"
SLOT_MESSAGE_ID = "email_message_id"
SLOT_REFERENCES = "email_references"
SLOT_MAILBOX = "email_mailbox"  # the IMAP mailbox the thread's latest mail was read from

_MSG_ID = re.compile(r"<[^<>\s]+>")
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+$")
_ATTRIBUTION_END = re.compile(r"\bwrote:\s*$|\bschrieb:\s*$|\ba écrit\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^(on|am|le)\s", re.IGNORECASE)
_OUTLOOK_SEPARATOR = re.compile(r"^\s*-{2,}\s*original message\s*-{2,}\s*$", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_DECLARED_CHARSET = re.compile(rb"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_MAIL_SYSTEMS = frozenset({"mailer-daemon", "postmaster"})
_REPORT_TYPES = frozenset({"multipart/report", "message/delivery-status", "message/disposition-notification"})
_BLOCKS = ["p", "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr",
           "section", "article", "header", "footer"]


class InboundEmail(BaseModel):
    """One received mail, converted: the core message plus what a reply needs to stay in the thread."""

    message: Message
    subject: str = ""
    message_id: str = ""
    references: list[str] = Field(default_factory=list)
    automatic: str = ""  # why a machine wrote it, when one did
    mailbox: str = ""
    files: list[tuple[str, bytes]] = Field(default_factory=list, repr=False)  # attachments: name, bytes
    wrote_nothing: bool = False  # no text of the customer's own: only a subject, attachments, or nothing
    sender_verified: bool = False  # the mail provider reports SPF and DKIM passing for the sender's domain

    @property
    def conversation_id(self) -> str:
        return self.message.conversation_id

    @property
    def thread_root(self) -> str:
        """The id the conversation was found by: first of References (In-Reply-To is appended to them), else
        the mail's own id."""
        return self.references[0] if self.references else self.message_id

    def thread_slots(self) -> dict[str, Any]:
        return {SLOT_SUBJECT: self.subject, SLOT_MESSAGE_ID: self.message_id,
                SLOT_REFERENCES: self.references, SLOT_MAILBOX: self.mailbox}

    def moved_to(self, conversation_id: str) -> "InboundEmail":
        return self.model_copy(update={"message": self.message.model_copy(
            update={"conversation_id": conversation_id})})


def _fallback_charset(head: bytes) -> str:
    """The charset a sender most likely wrote raw 8-bit headers in: the body's, else Windows-1252 (a superset
    of Latin-1 for text, and what most non-UTF-8 mailers write)."""
    found = _DECLARED_CHARSET.search(head)
    if found:
        name = found.group(1).decode("ascii", "replace").lower()
        try:
            if codecs.lookup(name).name not in ("utf-8", "ascii"):
                return name
        except LookupError:
            pass
    return "cp1252"


def utf8_headers(raw: bytes) -> bytes:
    """RFC 5322 headers are ASCII, yet raw 8-bit names and subjects are common. The email package reads such
    bytes as UTF-8, so a header line in another charset is re-encoded as UTF-8 before parsing; a name is then
    read as written ("Fritz Müller") instead of with replacement characters."""
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    head, rest = raw[:end], raw[end:]
    if head.isascii():
        return raw
    fallback = _fallback_charset(head)
    lines = []
    for line in head.split(b"\n"):
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                line = line.decode(fallback, "replace").encode("utf-8")
        lines.append(line)
    return b"\n".join(lines) + rest


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def header_safe(value: str) -> str:
    """Decoded header text may contain CR/LF (encoded words) or raw 8-bit bytes; neither may reach storage
    or an outgoing header as is."""
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _HEADER_UNSAFE.sub(" ", value).strip()


def _header(msg: EmailMessage, name: str) -> str:
    """A header as text; a header the parser cannot make sense of counts as absent rather than crashing."""
    try:
        value = msg.get(name)
    except Exception:  # the header parser raises on a few pathological inputs
        log.warning("unparseable %s header ignored", name)
        return ""
    return header_safe(str(value)) if value is not None else ""


def message_ids(value: str) -> list[str]:
    """`<id>` tokens of a Message-ID, In-Reply-To or References header, in order, without duplicates."""
    seen: list[str] = []
    for token in _MSG_ID.findall(value):
        if token not in seen:
            seen.append(token)
    return seen


def _own_id(msg: EmailMessage) -> str:
    value = _header(msg, "Message-ID")
    ids = message_ids(value)
    return ids[0] if ids else value[:250]


def thread_root(msg: EmailMessage) -> str:
    """The id every mail of a thread agrees on: first of References, else In-Reply-To, else its own id."""
    for name in ("References", "In-Reply-To"):
        ids = message_ids(_header(msg, name))
        if ids:
            return ids[0]
    own = _own_id(msg)
    if own:
        return own
    return "no-id:" + _hash(_header(msg, "From").lower(), normalize_subject(_header(msg, "Subject")),
                            _header(msg, "Date"))


def conversation_id_for(root: str) -> str:
    return _hash("thread", root)


def same_address(one: str, other: str) -> bool:
    """Mail addresses as the intake compares them: what `_sender` keeps, whatever the case."""
    return one.strip().lower() == other.strip().lower()


def stranger_conversation_id(conversation_id: str, sender: str) -> str:
    """Where a mail goes that replies into a thread whose customer is someone else: a conversation of the
    sender's own, the same for every mail they send into that thread (so retries and follow-ups meet)."""
    return _hash("stranger", conversation_id, sender.strip().lower())


def _addresses(msg: EmailMessage, raw: str) -> list[tuple[str, str]]:
    """(display name, address) pairs; the stdlib's strict parser first, its lenient one when that gives up."""
    try:
        return [(a.display_name or "", a.addr_spec) for a in getattr(msg.get("From"), "addresses", ())]
    except Exception:  # the strict parser raises (even IndexError) on some broken headers
        name, address = parseaddr(raw)
        try:
            name = str(make_header(decode_header(name)))
        except Exception:
            pass
        return [(name, address)]


def _sender(msg: EmailMessage) -> Participant:
    raw = next((str(value) for key, value in msg.raw_items() if key.lower() == "from"), None)
    if raw is None:
        raise ValueError("missing From header")
    for name, address in _addresses(msg, raw):
        address = header_safe(address)
        if _ADDRESS.match(address):
            return Participant(role=Role.CUSTOMER, id=address.lower(), name=header_safe(name))
    raise ValueError(f"From header has no valid address: {header_safe(raw)[:80]!r}")


def _charset(part: EmailMessage) -> str:
    name = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        log.info("unknown charset %r, decoded as utf-8", name)
        return "utf-8"
    return name


def lenient_b64decode(text: str) -> bytes:
    """What can be recovered from damaged base64: junk characters dropped, a dangling tail ignored."""
    data = _NOT_BASE64.sub("", text)
    if len(data) % 4 == 1:
        data = data[:-1]  # one dangling character carries no whole byte
    return base64.b64decode(data + "=" * (-len(data) % 4))


def _payload(part: EmailMessage) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding: fall back to what the raw payload holds
        payload = None
    broken = any(isinstance(d, errors.InvalidBase64LengthDefect) for d in part.defects)
    base64_part = str(part.get("Content-Transfer-Encoding", "")).strip().lower() == "base64"
    if base64_part and (broken or payload is None):
        log.warning("damaged base64 part, decoded leniently")
        payload = lenient_b64decode(str(part.get_payload(decode=False)))
    elif payload is None:
        raw = part.get_payload(decode=False)
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return payload if isinstance(payload, bytes) else b""


def _decoded(part: EmailMessage) -> str:
    """The part's text whatever state its transfer encoding and charset are in."""
    payload = _payload(part)
    try:
        return payload.decode(_charset(part), errors="replace")
    except Exception:  # codecs that are found but refuse the bytes (e.g. stateful ones)
        return payload.decode("utf-8", errors="replace")


def html_to_text(html: str) -> str:
    """Visible text only: scripts, styles and quoted history never become part of the question."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "template", "noscript", "iframe", "object", "blockquote"]):
        tag.decompose()
    for tag in soup.select(".gmail_quote, #divRplyFwdMsg, #appendonsend"):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n")
        block.append("\n")
    text = soup.get_text()
    return "\n".join(line.strip() for line in text.splitlines())


def _body(msg: EmailMessage) -> str:
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        log.warning("MIME structure could not be walked; no body taken")
        return ""
    if part is None:
        return ""
    text = _decoded(part)  # type: ignore[arg-type]
    return html_to_text(text) if part.get_content_subtype() == "html" else text


def strip_quotes(text: str) -> str:
    """Keep what the customer wrote in this mail: no quoted history, attribution line or signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.rstrip() == "--" or _OUTLOOK_SEPARATOR.match(line):
            break
        if line.startswith("________________") and any(
                later.strip().lower().startswith("from:") for later in lines[index + 1:index + 3]):
            break
        if line.lstrip().startswith(">"):
            _drop_attribution(kept)
            continue
        kept.append(line)
    return "\n".join(kept)


def _drop_attribution(kept: list[str]) -> None:
    """Remove the `On <date>, <name> wrote:` line (often wrapped over two lines) that introduces a quote."""
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _ATTRIBUTION_END.search(kept[-1]):
        last = kept.pop()
        if not _ATTRIBUTION_START.match(last.strip()) and kept and _ATTRIBUTION_START.match(kept[-1].strip()):
            kept.pop()


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    text = _CONTROL.sub("", strip_quotes(text))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _BLANK_RUNS.sub("\n\n", text).strip()
    return text[:limit].rstrip()


def normalize_subject(subject: str) -> str:
    return _REPLY_PREFIX.sub("", header_safe(subject)).strip()


def reply_subject(subject: str) -> str:
    return "Re: " + (normalize_subject(subject) or "Your support request")


def automatic_reason(msg: EmailMessage, sender: str = "") -> str:
    """Why a mail was written by a machine ("" when a person wrote it): auto-replies and bulk mail
    (RFC 3834), delivery and read reports (RFC 3464, 8098) and mail from a mail system (MAILER-DAEMON,
    postmaster), with or without the headers. Answering any of them starts mail loops. Mailing-list headers
    are not a signal: a support address is often a list or group that forwards to us."""
    auto = _header(msg, "Auto-Submitted").lower()
    precedence = _header(msg, "Precedence").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    if precedence in {"bulk", "junk", "auto_reply"}:
        return f"Precedence: {precedence}"
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return "X-Autoreply"
    if sender.partition("@")[0].lower() in _MAIL_SYSTEMS:
        return f"sent by the mail system {sender}"
    try:
        types = {part.get_content_type() for part in msg.walk()}
    except Exception:  # a structure too broken to walk says nothing either way
        types = {msg.get_content_type()}
    report = types & _REPORT_TYPES
    return f"delivery report ({min(report)})" if report else ""


def to_message(raw: bytes, *, max_chars: int = MAX_TEXT_CHARS) -> InboundEmail:
    """Convert one received mail; raises ValueError when it cannot be answered (no usable From)."""
    msg = BytesParser(policy=policy.default).parsebytes(utf8_headers(raw))
    assert isinstance(msg, EmailMessage)
    sender = _sender(msg)
    subject = _header(msg, "Subject")[:MAX_SUBJECT_CHARS]
    own = _own_id(msg)
    references = message_ids(_header(msg, "References"))
    for parent in message_ids(_header(msg, "In-Reply-To")):
        if parent not in references:
            references.append(parent)
    body = clean_text(_body(msg), max_chars)
    text = body or normalize_subject(subject)[:max_chars] or "(empty message)"
    message_key = own or _hash(sender.id, subject, _header(msg, "Date"), text)
    message = Message(
        id="email-" + _hash("message", message_key), conversation_id=conversation_id_for(thread_root(msg)),
        channel=CHANNEL, sender=sender, text=text,
        raw={"message_id": own, "subject": subject, "from": sender.id},
    )
    return InboundEmail(message=message, subject=subject, message_id=own, references=references,
                        automatic=automatic_reason(msg, sender.id), files=attached_files(msg),
                        wrote_nothing=not body)


def attached_files(msg: EmailMessage) -> list[tuple[str, bytes]]:
    """Every part that is not the body: declared attachments and inline images alike."""
    files: list[tuple[str, bytes]] = []
    try:
        parts = list(msg.iter_attachments())
    except Exception:  # a structure too broken to walk: the text was taken as far as it goes
        log.warning("attachments of a damaged mail could not be listed")
        return files
    for part in parts:
        if part.get_content_maintype() == "multipart":
            continue
        name = header_safe(part.get_filename() or "") or f"attachment.{part.get_content_subtype()}"
        files.append((name, _payload(part)))  # type: ignore[arg-type]
    return files


def _chain(references: Iterable[str], in_reply_to: str) -> list[str]:
    ids: list[str] = []
    for value in [*references, in_reply_to]:
        for token in message_ids(header_safe(value)) if value else ():
            if token not in ids:
                ids.append(token)
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1):]
    return ids


def _web_link(citation: Citation) -> str:
    """Only a web page can be linked from a mail; a file name means nothing to the customer."""
    link = citation.link()
    return link if link.startswith(("http://", "https://")) else ""


def render_text(message: Message) -> str:
    text = message.text.strip()
    if message.citations:
        sources = "\n".join(f"- {c.title} <{link}>" if (link := _web_link(c)) else f"- {c.title}"
                            for c in message.citations)
        text += "\n\nSources:\n" + sources
    return text + "\n"


def render_html(message: Message) -> str:
    """The same reply for mail clients that show HTML: paragraphs kept, sources linked by their titles.
    Every piece of text is escaped: answers quote help-centre pages and customers' words."""
    paragraphs = [p for p in re.split(r"\n\s*\n", message.text.strip()) if p.strip()]
    body = "".join(f"<p>{escape(p.strip()).replace(chr(10), '<br>')}</p>\n" for p in paragraphs)
    if message.citations:
        items = "".join(
            f'<li><a href="{escape(link, quote=True)}">{escape(c.title)}</a></li>\n' if (link := _web_link(c))
            else f"<li>{escape(c.title)}</li>\n" for c in message.citations)
        body += f"<p>Sources:</p>\n<ul>\n{items}</ul>\n"
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}</body></html>\n'


def render(message: Message, subject: str, in_reply_to: str, references: Sequence[str]) -> EmailMessage:
    """A reply that mail clients file under the customer's thread: plain text with an HTML alternative
    (From/To: the channel's job)."""
    mail = EmailMessage(policy=policy.SMTP)
    mail["Subject"] = reply_subject(subject)
    mail["Date"] = formatdate(message.created_at, usegmt=True)
    parent = message_ids(header_safe(in_reply_to))
    if parent:
        mail["In-Reply-To"] = parent[0]
    chain = _chain(references, in_reply_to)
    if chain:
        mail["References"] = " ".join(chain)
    if message.sender.role in (Role.BOT, Role.SYSTEM):
        mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: other robots must not answer it
    mail.set_content(render_text(message))
    mail.add_alternative(render_html(message), subtype="html")
    return mail
