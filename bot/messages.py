"""Every sentence the support side says on its own, in one place so it can be reviewed and translated."""

from __future__ import annotations


def handoff_ack(expected_wait_minutes: int | None) -> str:
    if expected_wait_minutes is None:
        return "I'm connecting you with a member of our support team. They will reply here."
    if expected_wait_minutes <= 1:
        wait = "about a minute"
    else:
        wait = f"about {expected_wait_minutes} minutes"
    return f"I'm connecting you with a member of our support team. Expected wait: {wait}. They will reply here."


def no_answer_ack(expected_wait_minutes: int | None) -> str:
    return "I couldn't find a reliable answer to that in our help centre. " + handoff_ack(expected_wait_minutes)


def frustrated_ack(expected_wait_minutes: int | None) -> str:
    return "I'm sorry this has been frustrating. " + handoff_ack(expected_wait_minutes)


def categorized_ack(category: str, expected_wait_minutes: int | None) -> str:
    return f"Thanks, I've passed your {category.replace('_', ' ')} question to our team. " + handoff_ack(
        expected_wait_minutes
    )


def seen_while_waiting() -> str:
    """A message while a person is already asked for: it joins what they will read, and the customer knows."""
    return "A member of our support team will see this with the rest of your conversation. They will reply here."


def out_of_hours(opens: str) -> str:
    return f"Our team is offline right now; we open again {opens}. Your message is in the queue."


def error_ack() -> str:
    return "Something went wrong on my side, so I've asked a person to pick this up. They will reply here."


def agent_joined(agent_name: str) -> str:
    """`agent_name` is a display name; without one the customer reads about the team, not a login."""
    if not agent_name:
        return "A member of our support team has joined the conversation."
    return f"{agent_name} from our support team has joined the conversation."


def handed_back() -> str:
    return "You're chatting with the assistant again. Ask me anything."


def resolved(agent_name: str) -> str:
    return f"{agent_name or 'Our support team'} marked this conversation as resolved. Ask again here any time."


def draft_rejected_log(reason: str) -> str:
    return f"Draft rejected: {reason}"


def handoff_reminder(handoff_id: str, waited_seconds: float) -> str:
    return f"Handoff {handoff_id} unclaimed for {int(waited_seconds)} s"


def uncovered_parts(parts: list[str]) -> str:
    quoted = "; ".join(f'"{p}"' for p in parts)
    return (f"Our help centre doesn't cover {quoted}. If you'd like a person to help with that, "
            "just say \"talk to a person\".")


def attachment_too_large(limit_bytes: int) -> str:
    return f"not kept: larger than {limit_bytes / 1_048_576:g} MB"


def attachment_too_many(limit: int) -> str:
    return f"not kept: more than {limit} files in one message"


def attachments_only_ack(expected_wait_minutes: int | None) -> str:
    return "Thanks for the file. I can't read attachments myself. " + handoff_ack(expected_wait_minutes)


def action_needs_sign_in() -> str:
    """An action about the customer's own data, asked by someone whose identity nothing vouches for."""
    return ("To look that up I need to know it's you: please sign in on our site and ask again here, "
            "or say \"talk to a person\" and someone from our team will help.")


def action_cancelled() -> str:
    return "OK, I've left that. What else can I help with?"


def action_value_refused(error: str) -> str:
    return f"Sorry, that doesn't look right ({error})." if error else "Sorry, that doesn't look right."


def action_confirm_hint() -> str:
    return "Please answer yes or no."


def answer_withdrawn() -> str:
    """Said in place of a streamed answer that stopped short of the bot's checks."""
    return "That answer was withdrawn before it was finished. A member of our support team will check it."
