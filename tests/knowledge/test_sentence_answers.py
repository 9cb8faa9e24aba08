"""Answers at the level of sentences, on the sample help centre with real embeddings and a real embedded Chroma:
a question asking for one fact gets the sentence that states it, a follow-up is looked for where the last reply
came from, a "yes" or a "no" only where the sentence says so, and procedures still come whole. The composer is
asked as the responder asks it (the same search, context and history); whether an answer is then sent is the
answerability gate's call, tested elsewhere."""

from __future__ import annotations

import pytest

from bot.ports import Answer
from bot.responder import exchanges, reply_passages, search_context
from bot.types import Message, Participant, Role
from knowledge.answer import ExtractiveAnswerer, block_sentences, scoring_texts
from knowledge.chroma import ChromaKnowledgeBase
from knowledge.text import Block, is_yes_no, leans_back, polarity, refers_back, with_polarity
from tests.knowledge.helpcentre import sample_help_centre

CUSTOMER = Participant(role=Role.CUSTOMER, id="c1")
SUPPORT = Participant(role=Role.BOT, id="bot")
EXPIRY = "The link expires after 30 minutes."


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> ChromaKnowledgeBase:
    return sample_help_centre(tmp_path_factory)


async def compose(kb: ChromaKnowledgeBase, question: str, history: list[Message] | None = None) -> Answer:
    """The composer's answer as the responder gets it: searched with the conversation, given its history."""
    earlier = exchanges(history or [])
    context = search_context(earlier)
    replied = reply_passages(earlier) if context else []
    passages = await kb.search(question, k=8, context=context, reply_passages=replied)
    return await ExtractiveAnswerer(embedder=kb.embed_known).answer(question, passages, earlier)


def said(text: str, sender: Participant = CUSTOMER, answer: Answer | None = None) -> Message:
    return Message(conversation_id="c", channel="web", sender=sender, text=text,
                   citations=tuple(answer.citations) if answer else ())


async def test_a_question_for_one_fact_gets_the_sentence_that_states_it(kb: ChromaKnowledgeBase) -> None:
    answer = await compose(kb, "How long is the reset link valid?")
    assert answer.text == EXPIRY  # not the paragraph about the reset email that did not arrive
    assert answer.citations[0].section == "Steps to reset your password"
    assert EXPIRY in answer.citations[0].snippet and answer.support == 1.0
    refunds = await compose(kb, "How long do refunds take to appear on my statement?")
    assert refunds.text == ("Refunds are sent to the original payment method and take 5 to 10 business days to "
                            "appear on your statement.")
    assert refunds.citations[0].section == "Refund policy"


async def test_a_follow_up_is_answered_from_what_the_bot_just_said(kb: ChromaKnowledgeBase) -> None:
    question = "How do I reset my password?"
    steps = await compose(kb, question)
    assert EXPIRY in steps.text and steps.citations
    follow_up = await compose(kb, "Does the link expire?", [said(question), said(steps.text, SUPPORT, steps)])
    assert follow_up.text == f"Yes, {EXPIRY[0].lower()}{EXPIRY[1:]}"  # the sentence states it: "yes" is earned
    assert follow_up.citations[0].passage_id in {c.passage_id for c in steps.citations}
    assert follow_up.support == 1.0 and not follow_up.unsupported_sentences


async def test_a_no_stated_on_the_page_is_answered_no(kb: ChromaKnowledgeBase) -> None:
    backups = await compose(kb, "Can I restore individual files from backups?")
    assert backups.text == ("No, backups are used for disaster recovery only and cannot be used to restore "
                            "individual files.")
    assert backups.citations[0].title == "Deleted items and data retention"
    sms = await compose(kb, "Are SMS codes supported?")
    assert sms.text == "No, SMS codes are not supported because they can be intercepted."  # an acronym stays


async def test_no_yes_or_no_where_the_sentence_does_not_say_it(kb: ChromaKnowledgeBase) -> None:
    weekends = await compose(kb, "Is support available on weekends?")
    assert "Monday to Friday" in weekends.text
    assert not weekends.text.startswith(("Yes", "No"))  # it never says "weekend": no verdict put in its mouth


async def test_a_procedure_still_gets_every_step_in_order(kb: ChromaKnowledgeBase) -> None:
    answer = await compose(kb, "How do I reset my password?")
    lines = answer.text.splitlines()
    assert [line[:2] for line in lines] == ["1.", "2.", "3.", "4."]
    assert lines[0].startswith("1. Go to https://app.acme.cloud/login")
    assert EXPIRY in lines[2]


@pytest.mark.parametrize(("question", "sentence", "heading", "expected"), [
    ("Are SMS codes supported?", "SMS codes are not supported because they can be intercepted.", "", "no"),
    ("Can deleted items be recovered after 30 days?",
     "After 30 days items are permanently deleted and cannot be recovered, not even by support.", "", "no"),
    ("Will I be charged after I cancel?", "Your subscription stays active until the end of the current billing "
     "period; you will not be charged again.", "What happens after cancelling", "no"),
    ("Do I need to contact support to reset my password?", "You do not need to contact support.",
     "Resetting your password", "no"),
    ("Is support available on weekends?", "Support is available on weekdays only.", "", "no"),
    ("Can a backup code be used twice?", "Each backup code can be used only once.", "", "no"),
    ("Can I cancel at any time?", "You can cancel your subscription at any time from the web app.", "", "yes"),
    ("Does the link expire?", EXPIRY, "", "yes"),
    # the sentence answers another case, or another question: no verdict
    ("Can I get a refund after 14 days?",
     "New subscriptions can be refunded in full within 14 days of the first payment.", "", ""),
    ("Do I need a real estate agent?",
     "In general the real estate agent fee is paid by the seller of the property.", "", ""),
    ("Can I use backup codes?", "Each backup code works only once.", "", ""),
    ("Can I use a backup code twice?", "Each backup code works only once.", "", ""),  # "use" is not said: no call
    ("Can a member change the plan?", "Only account owners and billing admins can change the plan.", "", ""),
    ("Can I contact support if I lost my backup codes?",
     "If you have no backup codes left, contact support: identity verification takes up to 3 business days.", "", ""),
    ("Is refinancing the same as getting a mortgage?", "The bank offering the re-fi is usually not the bank "
     "getting payments for the current mortgage.", "", ""),
    ("Is support available on weekends?",
     "Our support team is available Monday to Friday, except public holidays in the Netherlands.", "", ""),
    ("Can it be cleaned up?", "Yes, but it can be time-consuming and expensive.", "", ""),  # the page says it
    ("How long is the reset link valid?", EXPIRY, "", ""),  # not a yes/no question
    ("Is billing monthly or yearly?", "Billing is monthly.", "", ""),
])
def test_yes_and_no_only_where_the_sentence_says_so(question: str, sentence: str, heading: str, expected: str) -> None:
    assert polarity(question, sentence, heading) == expected


def test_yes_no_questions_and_how_a_verdict_is_written() -> None:
    assert is_yes_no("Does the link expire?") and is_yes_no("So can I export my data?")
    assert not is_yes_no("Can you tell me how to export?") and not is_yes_no("How long is the link valid?")
    assert not is_yes_no("Is it monthly or yearly?") and not is_yes_no("Isn't the link valid for a day?")
    assert with_polarity("Backups are kept for 90 days.", "no") == "No, backups are kept for 90 days."
    assert with_polarity("SMS codes are not supported.", "no") == "No, SMS codes are not supported."
    named = with_polarity("Acme Cloud keeps backups.", "yes", "You sign in to Acme Cloud.")
    assert named == "Yes, Acme Cloud keeps backups."  # a name keeps its capital
    assert with_polarity("The link expires.", "") == "The link expires."


def test_follow_ups_and_sentences_that_point_back() -> None:
    reply = "3. Open the email from no-reply@acme.cloud and click the reset link. The link expires after 30 minutes."
    assert refers_back("Does the link expire?", reply) and refers_back("Is it free?", reply)
    assert not refers_back("Does the link expire?", "") and not refers_back("What about refunds?", reply)
    assert leans_back("It expires after 30 minutes.") and leans_back("After that the workspace is deleted.")
    assert not leans_back(EXPIRY)


def test_sentences_a_short_answer_is_chosen_from() -> None:
    steps = Block("list", ["To reset it:", "1. Open the email and click the reset link. The link expires after 30 "
                           "minutes.", "2. Choose a new password."])
    assert block_sentences(steps) == ((0, "To reset it:"), (1, "Open the email and click the reset link."),
                                      (1, EXPIRY), (2, "Choose a new password."))
    paragraph = Block("paragraph", ["Getting started with exports", "Friends was filmed at Warner Bros. Studios in",
                                    "Burbank. Ask us."])
    assert block_sentences(paragraph) == ((0, "Getting started with exports Friends was filmed at Warner Bros. "
                                               "Studios in Burbank."),)
    assert block_sentences(Block("paragraph", ["Getting started with exports"])) == ()  # a title, not an answer
    section = "## Steps\n\n1. Open the email. The link expires after 30 minutes.\n2. Choose a new password."
    texts = scoring_texts(section, "Steps")
    assert texts[0].startswith("Steps\n1. Open the email.") and EXPIRY in texts  # blocks first, then sentences
