"""Text that addresses a language model rather than a customer: never obeyed, never repeated as advice.

Customers' messages that read like this get a refusal; document sentences that read like this are never
quoted. A pattern list cannot catch every phrasing, so the answer paths are built not to need it: the
extractive composer only copies help-centre text, and a chat model's sentences must each be backed by it.
"""

from __future__ import annotations

import re

_INJECTION = re.compile(
    r"ignore (?:all |any |the )?(?:previous|prior|above|earlier|preceding) (?:instructions|prompts?|rules|messages)"
    r"|disregard (?:all |any |the )?(?:previous|prior|above|earlier)"
    r"|forget (?:all |your |the )?(?:previous |prior )?instructions"
    r"|system prompt|developer message|developer mode|jailbreak"
    r"|you are now (?:a|an|in|the|dan|my|free|unrestricted)\b|from now on,? you"
    r"|act as (?:an? )?(?:ai|assistant|chatbot|language model)"
    r"|(?:new|updated|override) instructions|do anything now"
    r"|(?:as an?|you are an?) (?:ai|llm|language model|chatbot|assistant)\b"
    r"|reveal (?:your|the) (?:prompt|instructions|system)"
    r"|^\s*(?:assistant|system|ai|bot|chatbot|user)\s*:"  # a transcript line put in a model's mouth
    r"|\b(?:language model|llm|chatbot|ai assistant)s?\b.{0,40}\b(?:must|should|always|never)\b",
    re.I,
)


def looks_like_injection(sentence: str) -> bool:
    """Text that addresses a language model rather than a customer."""
    return bool(_INJECTION.search(sentence))
