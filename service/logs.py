"""Log lines of every process (API, uvicorn, worker): JSON or text, each with the turn it belongs to, never
a secret from a URL.

Turn lines carry ids, channel, decision and time, never what anyone wrote; the token a widget or console
socket sends as `?token=` is replaced before any handler writes the line.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any, Literal

import pythonjsonlogger.json

from bot.observer import CONVERSATION_ID, TURN_ID, HandoffEvent, Stage

LogFormat = Literal["json", "text"]

# query parameters whose values are credentials: token, access_token, api_key, secret, password ...
_SECRET_QUERY = re.compile(r"([?&][\w.-]*(?:token|key|secret|password)=)[^&\s\"']*", re.IGNORECASE)
REDACTED = "[redacted]"


def redact_query(text: str) -> str:
    return _SECRET_QUERY.sub(rf"\1{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Replace credential values of query strings in the message and its arguments (uvicorn's access and
    WebSocket lines pass the path with its query as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact_query(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


class TurnIds(logging.Filter):
    """Every line says which turn (and conversation) it belongs to, when it belongs to one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "turn_id"):
            record.turn_id = TURN_ID.get()
        if not hasattr(record, "conversation_id"):
            record.conversation_id = CONVERSATION_ID.get()
        return True


OURS = ("bot", "connectors", "knowledge", "service", "workers", "supportbot", "celery", "uvicorn")


class LibraryFloor(logging.Filter):
    """Other libraries' lines from WARNING up only, whatever level they give their own loggers: bm25s sets its
    logger to DEBUG when imported, after logging is configured, and would print a line per index built."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.partition(".")[0] in OURS


def floor_libraries(logger: logging.Logger | None = None) -> None:
    """Put `LibraryFloor` on the handlers of `logger` (the root's by default), e.g. after `logging.basicConfig`."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, LibraryFloor) for f in handler.filters):
            handler.addFilter(LibraryFloor())


class TextFormatter(logging.Formatter):
    """Plain lines for a terminal, with the turn id when there is one."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        line = super().formatMessage(record)
        turn = getattr(record, "turn_id", None)
        return f"{line} [turn {turn}]" if turn else line


class LoggingObserver:
    """One line per bot turn and per handoff event: ids, channel, decision and seconds only."""

    log = logging.getLogger("supportbot.turns")

    def stage(self, stage: Stage, seconds: float) -> None:
        self.log.debug("stage %s took %.4f s", stage, seconds, extra={"stage": stage, "seconds": seconds})

    def turn(self, channel: str, decision: str, seconds: float) -> None:
        self.log.info("turn %s on %s in %.3f s", decision, channel, seconds,
                      extra={"channel": channel, "decision": decision, "seconds": round(seconds, 4)})

    def handoff(self, event: HandoffEvent) -> None:
        self.log.info("handoff %s", event, extra={"handoff_event": event})

    def interval(self, stage: Stage, started_ns: int, ended_ns: int) -> None:
        pass


# What a JSON line may hold: anything else a library attaches (Celery attaches a task's arguments, which hold
# customers' words) is left out. A new structured field is added here on purpose.
JSON_ALLOWED = frozenset({"time", "level", "logger", "message", "turn_id", "conversation_id", "exc_info",
                          "stack_info", "channel", "decision", "seconds", "stage", "job", "handoff_event"})


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object per line, holding only the allowed fields."""

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in [key for key in log_data if key not in JSON_ALLOWED]:
            del log_data[key]


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(turn_id)s %(conversation_id)s"


def log_config(fmt: LogFormat = "json", level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the root logger and uvicorn's, also given to `uvicorn.run` so every
    server process (one per `--workers`) writes the same lines."""
    formatter: dict[str, Any] = {"()": TextFormatter, "fmt": TEXT_FORMAT} if fmt == "text" else {
        "()": JsonFormatter, "fmt": JSON_FIELDS,
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}}
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "default",
               "filters": ["redact", "turn", "libraries"]}
    ours = {"level": level.upper()}  # the project's and its servers' lines; other libraries' from warnings up
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactSecrets}, "turn": {"()": TurnIds}, "libraries": {"()": LibraryFloor}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": "WARNING"},
        # uvicorn's loggers lose their own handlers and write through the root's
        "loggers": {**{name: ours for name in OURS if name != "uvicorn"},
                    **{name: {**ours, "handlers": [], "propagate": True}
                       for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}},
    }


def configure_logging(fmt: LogFormat = "json", level: str = "INFO") -> None:
    logging.config.dictConfig(log_config(fmt, level))
    logging.captureWarnings(True)  # library warnings become log lines too, not raw text amid them
