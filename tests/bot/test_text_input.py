"""The published "not blank" pattern and the server's own check agree on every character."""

from __future__ import annotations

import re
import sys

from bot.types import NOT_BLANK


def test_not_blank_pattern_agrees_with_str_strip() -> None:
    # ECMAScript's \S (what a schema client reads) counts U+001C-U+001F and U+0085 as text and U+FEFF as space;
    # str.strip() disagrees on both, so the pattern lists the white space itself.
    pattern = re.compile(NOT_BLANK)
    disagree = [hex(i) for i in range(sys.maxunicode + 1)
                if not 0xD800 <= i <= 0xDFFF and bool(pattern.match(chr(i))) == chr(i).isspace()]
    assert disagree == []
    assert "\\s" not in NOT_BLANK and "\\S" not in NOT_BLANK
