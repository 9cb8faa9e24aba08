"""Knowledge gaps: unanswered questions cluster into the articles worth writing."""

from __future__ import annotations

from knowledge.gaps import cluster_gaps, unanswered_questions


def turn(question: str, score: float, reason: str = "no_answer", decision: str = "escalated") -> dict:
    return {"question": question, "decision": decision, "reason": reason,
            "signals": {"retrieval_score": score}}


def test_gaps_cluster_similar_questions_and_skip_answerable_ones() -> None:
    turns = [
        turn("Do you ship to Canada?", 0.1), turn("Can I get delivery to Toronto, Canada?", 0.12),
        turn("Is shipping to Canada possible?", 0.15),
        turn("How do I add a team member to my workspace?", 0.2),
        turn("Can I invite a colleague to my workspace?", 0.18),
        turn("How do I reset my password?", 0.8, reason="requested"),  # escalated on request: not a gap
        turn("What are your hours?", 0.6, decision="answered", reason=""),
    ]
    questions = unanswered_questions(turns, min_retrieval_score=0.3)
    assert len(questions) == 5
    gaps = cluster_gaps(questions)
    assert [g.count for g in gaps] == [3, 2]
    assert "Canada" in gaps[0].title and "workspace" in gaps[1].title
