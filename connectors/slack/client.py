"""One way to build the Web API client, so every caller gets the same rate-limit behaviour."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

DEFAULT_API_URL = "https://slack.com/api/"


def web_client(token: str, base_url: str = DEFAULT_API_URL, *, rate_limit_retries: int = 3) -> AsyncWebClient:
    """A 429 waits for `Retry-After` and tries again instead of losing the message."""
    if not base_url.endswith("/"):
        base_url += "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ],
    )
