"""Where `supportbot email` reads mail over IMAP: one entry per mailbox (settings only, no client code)."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from connectors.email.oauth import OAuth2, TokenProvider


class ImapMailbox(BaseModel):
    """One support mailbox, signing in with a password or, where the provider wants it (Microsoft 365,
    Google Workspace), an OAuth2 token (`oauth2`, or SUPPORTBOT_EMAIL_AUTH for every mailbox)."""

    host: str
    port: int | None = Field(None, ge=1, le=65535, description="default: 993 with tls=ssl, else 143")
    username: str
    password: str = Field("", repr=False)
    oauth2: OAuth2 | None = Field(None, description="sign in with XOAUTH2; unset: SUPPORTBOT_EMAIL_AUTH decides")
    folder: str = "INBOX"
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    ca_file: str | None = Field(None, description="trust this CA bundle instead of the system's (own CA)")
    move_to: str | None = Field(None, description="folder handled mail is moved to; unset: marked \\Seen")
    sent_folder: str | None = Field(None, description="replies are appended here (e.g. 'Sent'); unset: not")
    poll_seconds: float = Field(60.0, gt=0, description="without IDLE: how often the folder is checked")
    idle_seconds: float = Field(600.0, gt=0, le=29 * 60, description="IDLE is renewed this often (RFC 2177)")
    timeout: float = Field(30.0, gt=0)
    _tokens: TokenProvider | None = PrivateAttr(None)  # one cache per mailbox: the watcher and the Sent copy

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.tls == "ssl" else 143)

    @property
    def name(self) -> str:
        """How logs and conversations name it: `support@imap.example.com:993/INBOX`."""
        return f"{self.username}@{self.host}:{self.effective_port}/{self.folder}"

    @property
    def key(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()[:24]
