"""Mailboxes that take OAuth2 tokens instead of passwords (Microsoft 365, Google Workspace): a real Dovecot
checking XOAUTH2 tokens with the provider's introspection endpoint, a real SMTP server (aiosmtpd) doing the
same, and msal and google-auth signing in at a local stand-in for the providers' token endpoints."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from connectors.email.channel import EmailChannel
from connectors.email.cursor import UidCursor
from connectors.email.imap import ImapWatcher, connect
from connectors.email.intake import MailIntake
from connectors.email.mailboxes import ImapMailbox
from connectors.email.oauth import OAuth2, TokenError, token_provider
from service.container import Container, build_container
from service.settings import Settings
from tests.connectors.email.conftest import CUSTOMER, SUPPORT, Sink
from tests.connectors.email.test_imap import Running, question, running  # noqa: F401
from tests.dovecot import Dovecot, dovecot_server, self_signed_certificate
from tests.fakes.oauth_provider import OAuthProvider
from tests.net import free_port
from tests.waiting import eventually

GOOGLE_CLIENT, GOOGLE_SECRET = "google-client.apps.googleusercontent.com", "google-secret"
MS_CLIENT, MS_SECRET = "11111111-2222-3333-4444-555555555555", "ms-secret"
TENANT = "contoso.onmicrosoft.com"

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[OAuthProvider]:
    root = Path(tempfile.mkdtemp(prefix="oauth-"))
    root.chmod(0o755)  # Dovecot's auth process reads the certificate
    cert, key = self_signed_certificate(root)
    cert.chmod(0o644)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # msal and google-auth (requests) trust the stand-in
    stand_in = OAuthProvider(cert, key).start()
    stand_in.register(GOOGLE_CLIENT, GOOGLE_SECRET)
    stand_in.register(MS_CLIENT, MS_SECRET)
    yield stand_in
    stand_in.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot(provider: OAuthProvider) -> Iterator[Dovecot]:
    with dovecot_server(introspection_url=f"{provider.url}/introspect", introspection_ca=provider.cert) as server:
        server.create_folder("Sent")
        yield server


def google(provider: OAuthProvider, user: str = "support") -> OAuth2:
    return OAuth2(provider="oauth2-google", client_id=GOOGLE_CLIENT, client_secret=GOOGLE_SECRET,
                  refresh_token=provider.refresh_token_for(GOOGLE_CLIENT, user), endpoint=f"{provider.url}/token")


def microsoft(provider: OAuthProvider, *, delegated_user: str | None = None) -> OAuth2:
    """Delegated (the user's refresh token) or, without a user, the app's client credentials."""
    refresh = provider.refresh_token_for(MS_CLIENT, delegated_user) if delegated_user else ""
    return OAuth2(provider="oauth2-microsoft", client_id=MS_CLIENT, client_secret=MS_SECRET, tenant=TENANT,
                  refresh_token=refresh, endpoint=provider.url)


def mailbox_of(server: Dovecot, oauth2: OAuth2) -> ImapMailbox:
    """No password at all: only a token gets in."""
    return ImapMailbox(host="127.0.0.1", port=server.port, username=server.username, tls="none",
                       sent_folder="Sent", poll_seconds=3600, oauth2=oauth2)


@dataclass
class XOAuth2Sink(Sink):
    """The outbound SMTP server, taking mail only after AUTH XOAUTH2 with a token the provider vouches for,
    and answering a bad one as Gmail does (a JSON error challenge, then 535)."""

    provider: OAuthProvider | None = None
    signed_in: list[str] = field(default_factory=list)
    refused: int = 0

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        blob = base64.b64decode(args[1]) if len(args) == 2 else await server.challenge_auth("")
        assert isinstance(blob, bytes)
        fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        assert self.provider is not None
        if user and self.provider.holder(token) == user:
            self.signed_in.append(user)
            return AuthResult(success=True, auth_data=user)
        self.refused += 1
        await server.challenge_auth(json.dumps({"status": "400", "schemes": "Bearer",
                                                "scope": "https://mail.google.com/"}))
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")


@pytest.fixture
def smtp(provider: OAuthProvider) -> Iterator[XOAuth2Sink]:
    recorder = XOAuth2Sink(port=free_port(), provider=provider)
    controller = Controller(recorder, hostname="127.0.0.1", port=recorder.port, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    yield recorder
    controller.stop()


@pytest.fixture
async def make_container(settings: Settings) -> AsyncIterator[Any]:
    built: list[Container] = []

    def make(channel: EmailChannel) -> Container:
        container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                    answerer=FirstSentenceAnswerer(), channels={"email": channel})
        built.append(container)
        return container

    yield make
    for container in built:
        await container.runner.drain()  # type: ignore[attr-defined]
        await container.close()


def watcher_for(container: Container, box: ImapMailbox) -> ImapWatcher:
    return ImapWatcher(box, MailIntake(container), UidCursor(container.redis, container.settings.redis_prefix,
                                                               box.key), backoff_base=0.2, backoff_ceiling=0.5)


def grants(provider: OAuthProvider, kind: str) -> list[dict[str, str]]:
    return [g for g in provider.token_grants() if g.get("grant_type") == kind]


@pytest.mark.parametrize("flow", ["google refresh token", "microsoft client credentials",
                                  "microsoft refresh token"])
async def test_imap_intake_signs_in_with_an_oauth2_token_and_the_reply_goes_out_over_xoauth2_smtp(
        flow: str, provider: OAuthProvider, dovecot: Dovecot, smtp: XOAuth2Sink, make_container: Any,
        running: Running) -> None:
    if flow == "google refresh token":
        config, kind = google(provider), "refresh_token"
    elif flow == "microsoft client credentials":
        provider.apps[MS_CLIENT] = dovecot.username  # the app was granted access to this mailbox
        config, kind = microsoft(provider), "client_credentials"
    else:
        config, kind = microsoft(provider, delegated_user=dovecot.username), "refresh_token"
    box = mailbox_of(dovecot, config)
    channel = EmailChannel("127.0.0.1", smtp.port, SUPPORT, username=dovecot.username, mailboxes=[box],
                           tokens=token_provider(config, dovecot.username))
    container = make_container(channel)
    dovecot.append(question(1))
    running.start(watcher_for(container, box))
    [reply] = await eventually(lambda: smtp.to(CUSTOMER))
    assert reply.mail["In-Reply-To"] == "<imap-1@example.test>"
    assert "\\Seen" in (await eventually(lambda: dovecot.flags()["<imap-1@example.test>"]))
    assert list(await eventually(lambda: dovecot.flags("Sent"))) == [reply.mail["Message-ID"]]
    assert smtp.signed_in == [dovecot.username] and smtp.refused == 0
    # one token for the mailbox, used by the watcher's session and the Sent copy alike; one for sending
    assert len(grants(provider, kind)) == 2
    assert all(g["client_id"] == config.client_id for g in provider.token_grants())


async def test_a_token_past_its_expiry_is_refreshed_before_signing_in(
        provider: OAuthProvider, dovecot: Dovecot, smtp: XOAuth2Sink, make_container: Any,
        running: Running) -> None:
    provider.lifetime = 1.0
    box = mailbox_of(dovecot, google(provider))
    connect(box).logout()  # the first token, now cached
    await asyncio.sleep(1.2)  # it has expired
    dovecot.append(question(2))
    container = make_container(EmailChannel("127.0.0.1", smtp.port, SUPPORT, username=dovecot.username,
                                            tokens=token_provider(google(provider), dovecot.username)))
    running.start(watcher_for(container, box))
    [reply] = await eventually(lambda: smtp.to(CUSTOMER))
    assert reply.mail["In-Reply-To"] == "<imap-2@example.test>"
    assert len(grants(provider, "refresh_token")) == 3  # IMAP twice (not the stale token), SMTP once
    assert provider.introspections == 3  # three sign-ins, none refused and retried


async def test_a_token_the_server_refuses_is_refreshed_once_and_the_fetch_succeeds(
        provider: OAuthProvider, dovecot: Dovecot, smtp: XOAuth2Sink, make_container: Any,
        running: Running) -> None:
    """Revoked or expired early at the provider while still cached here: one refresh, one retry. With
    Microsoft's rotating refresh tokens, the retry's refresh uses the newest one."""
    box = mailbox_of(dovecot, microsoft(provider, delegated_user=dovecot.username))
    connect(box).logout()
    sender = token_provider(microsoft(provider, delegated_user=dovecot.username), dovecot.username)
    sender.token()
    provider.expire_access_tokens()  # both cached tokens are now refused by IMAP and SMTP alike
    dovecot.append(question(3))
    container = make_container(EmailChannel("127.0.0.1", smtp.port, SUPPORT, username=dovecot.username,
                                            tokens=sender))
    running.start(watcher_for(container, box))
    [reply] = await eventually(lambda: smtp.to(CUSTOMER))
    assert reply.mail["In-Reply-To"] == "<imap-3@example.test>"
    assert smtp.refused == 1 and smtp.signed_in == [dovecot.username]
    refreshes = grants(provider, "refresh_token")
    assert len(refreshes) == 4  # two caches, each refreshed once after the refusal
    initial = box.oauth2.refresh_token  # type: ignore[union-attr]
    assert [g["refresh_token"] for g in refreshes].count(initial) == 1  # the retry used the rotated one


async def test_a_revoked_refresh_token_is_a_clear_error_and_the_mail_stays_for_later(
        provider: OAuthProvider, dovecot: Dovecot, smtp: XOAuth2Sink, make_container: Any, running: Running,
        caplog: pytest.LogCaptureFixture) -> None:
    box = mailbox_of(dovecot, google(provider))
    provider.revoke_refresh_tokens()
    dovecot.append(question(4))
    container = make_container(EmailChannel("127.0.0.1", smtp.port, SUPPORT, username=dovecot.username,
                                            tokens=token_provider(google(provider), dovecot.username)))
    caplog.set_level(logging.ERROR, logger="connectors.email.imap")
    watcher = watcher_for(container, box)
    running.start(watcher)
    await eventually(lambda: len(grants(provider, "refresh_token")) >= 2)  # it keeps trying, backing off
    [record, *_] = [r for r in caplog.records if r.levelno == logging.ERROR]
    message = record.getMessage()
    assert "OAuth2 sign-in of support failed: invalid_grant" in message and "sign in again" in message
    assert watcher.connections == 0 and smtp.received == []
    assert "\\Seen" not in dovecot.flags()["<imap-4@example.test>"]  # nothing lost: still new in the mailbox

    watcher.stop.set()
    box.oauth2 = google(provider)  # an admin signs in again: a new refresh token
    box._tokens = None
    running.start(watcher_for(container, box))
    [reply] = await eventually(lambda: smtp.to(CUSTOMER))
    assert reply.mail["In-Reply-To"] == "<imap-4@example.test>"


def test_a_revoked_refresh_token_fails_a_send_with_the_same_clear_error(provider: OAuthProvider,
                                                                         smtp: XOAuth2Sink) -> None:
    tokens = token_provider(microsoft(provider, delegated_user="support"), "support")
    provider.revoke_refresh_tokens()
    channel = EmailChannel("127.0.0.1", smtp.port, SUPPORT, username="support", tokens=tokens)
    mail = EmailMessage()
    mail["Subject"] = "Re: Question"
    mail.set_content("Hello")
    with pytest.raises(TokenError, match="invalid_grant: AADSTS70008") as raised:
        channel._send_blocking(mail, CUSTOMER)
    assert raised.value.refused and smtp.received == []


async def test_settings_choose_the_provider_for_every_mailbox_and_for_sending(
        settings: Settings, provider: OAuthProvider, dovecot: Dovecot, smtp: XOAuth2Sink,
        running: Running) -> None:
    """SUPPORTBOT_EMAIL_AUTH=oauth2-google with the refresh token from the environment: mailboxes without
    a password sign in with it, and so does sending."""
    configured = Settings.model_validate({
        **settings.model_dump(), "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_from": SUPPORT,
        "smtp_username": dovecot.username, "email_auth": "oauth2-google", "email_oauth_client_id": GOOGLE_CLIENT,
        "email_oauth_client_secret": GOOGLE_SECRET, "email_oauth_endpoint": f"{provider.url}/token",
        "email_oauth_refresh_token": provider.refresh_token_for(GOOGLE_CLIENT, dovecot.username),
        "imap_mailboxes": [{"host": "127.0.0.1", "port": dovecot.port, "username": dovecot.username,
                            "tls": "none"}]})
    [box] = configured.imap_mailboxes
    assert box.oauth2 is not None and box.oauth2.provider == "oauth2-google"
    container = build_container(configured, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    try:
        dovecot.append(question(5))
        running.start(watcher_for(container, box))
        [reply] = await eventually(lambda: smtp.to(CUSTOMER))
        assert reply.mail["In-Reply-To"] == "<imap-5@example.test>" and smtp.signed_in == [dovecot.username]
    finally:
        await running.stop()
        await container.runner.drain()  # type: ignore[attr-defined]
        await container.close()


def test_a_mailbox_without_a_password_needs_oauth2(settings: Settings) -> None:
    with pytest.raises(ValueError, match="has no password, and SUPPORTBOT_EMAIL_AUTH is password"):
        Settings.model_validate({**settings.model_dump(), "imap_mailboxes": [
            {"host": "imap.example.com", "username": "support"}]})


async def test_a_google_service_account_signs_in_as_the_mailbox_user(
        provider: OAuthProvider, dovecot: Dovecot, tmp_path: Path) -> None:
    """Domain-wide delegation: the service account's signed assertion names the mailbox user (`sub`)."""
    key, public = tmp_path / "sa.key", tmp_path / "sa.pub"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(public)], check=True,
                   capture_output=True)
    email = "supportbot@acme-mail.iam.gserviceaccount.com"
    provider.service_accounts[email] = public.read_text()
    account = tmp_path / "service-account.json"
    account.write_text(json.dumps({"type": "service_account", "client_email": email, "private_key_id": "k1",
                                   "private_key": key.read_text(), "client_id": "1234",
                                   "token_uri": "https://oauth2.googleapis.com/token"}))
    box = mailbox_of(dovecot, OAuth2(provider="oauth2-google", service_account_file=str(account),
                                     endpoint=f"{provider.url}/token"))
    dovecot.append(question(6))
    client = await asyncio.to_thread(connect, box)
    try:
        assert [m.subject for m in client.fetch(mark_seen=False)] == ["Question 6"]
    finally:
        client.logout()
    [grant] = provider.token_grants()
    assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
