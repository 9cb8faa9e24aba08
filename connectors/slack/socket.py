"""Socket Mode: the same Bolt app over a WebSocket, for hosts Slack cannot reach (no public URL)."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp


def socket_mode_handler(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    if not app_token.startswith("xapp-"):
        raise ValueError("SUPPORTBOT_SLACK_APP_TOKEN must be an app-level token (xapp-...)")
    return AsyncSocketModeHandler(app, app_token)


async def run_socket_mode(app: AsyncApp, app_token: str) -> None:
    """Connects and serves until cancelled; requests need no signing secret (the socket is authenticated)."""
    await socket_mode_handler(app, app_token).start_async()
