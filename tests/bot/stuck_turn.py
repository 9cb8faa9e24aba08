"""A process that starts one customer turn and never finishes it (its knowledge base hangs): one to kill
mid-turn. `python -m tests.bot.stuck_turn REDIS_URL PREFIX CONVERSATION_ID MESSAGE_ID TEXT`"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.ports import Passage
from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer
from bot.types import Message, Participant, Role
from service.container import build_container
from service.settings import Settings


class HangingKnowledge:
    async def search(self, query: str, *, k: int = 4, context: Sequence[str] = (),
                     reply_passages: Sequence[str] = ()) -> list[Passage]:
        print("searching", flush=True)  # the message is stored and the turn under way
        await asyncio.Event().wait()
        return []


async def main(redis_url: str, prefix: str, conversation_id: str, message_id: str, text: str) -> None:
    settings = Settings(redis_url=redis_url, redis_prefix=prefix, data_dir=Path(tempfile.mkdtemp()),
                        agent_token="x", _env_file=None)  # type: ignore[call-arg]
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=HangingKnowledge(),
                                answerer=FirstSentenceAnswerer())
    await container.dialogue.handle(Message(id=message_id, conversation_id=conversation_id, channel="web",
                                            sender=Participant(role=Role.CUSTOMER, id="c1"), text=text))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
