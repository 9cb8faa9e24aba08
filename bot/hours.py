"""Business hours: when people are there to answer a handoff."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPEC = re.compile(r"^\s*(\w{3})(?:-(\w{3}))?\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\s*$")


class BusinessHours(BaseModel):
    """Open on `days` (0 = Monday) between `opens` and `closes`, local to `timezone`."""

    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    timezone: str = "UTC"

    @classmethod
    def parse(cls, spec: str, timezone: str = "UTC") -> "BusinessHours":
        """`mon-fri 09:00-17:00` or `sat 10:00-14:00`; a clear ValueError otherwise."""
        match = _SPEC.match(spec.lower())
        if not match or match.group(1) not in DAYS or (match.group(2) and match.group(2) not in DAYS):
            raise ValueError(f"business hours must look like 'mon-fri 09:00-17:00', got {spec!r}")
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2)) if match.group(2) else first
        days = list(range(first, last + 1)) if first <= last else list(range(first, 7)) + list(range(0, last + 1))
        ZoneInfo(timezone)  # fails loudly on an unknown zone
        return cls(days=days, opens=time.fromisoformat(match.group(3).zfill(5)),
                   closes=time.fromisoformat(match.group(4).zfill(5)), timezone=timezone)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def next_opening(self, at: datetime) -> datetime:
        local = at.astimezone(ZoneInfo(self.timezone))
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            opening = datetime.combine(day, self.opens, tzinfo=local.tzinfo)
            if day.weekday() in self.days and opening > local:
                return opening
        return local

    def describe_next_opening(self, at: datetime) -> str:
        opening = self.next_opening(at)
        return opening.strftime("%A at %H:%M ") + self.timezone
