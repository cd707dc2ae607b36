"""Meetings as people record them: transcripts read without their fillers, summaries that nest, decisions, risks and
action items said aloud, and answers of whole sentences. The written-minutes cases are a one-page status meeting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from services.analysis.local import (
    NO_ANSWER,
    SummaryLength,
    answer,
    detect_document_date,
    extract_action_items,
    extract_decisions,
    extract_risks,
    summarize,
)
from services.analysis.local.transcripts import is_backchannel, parse_turns, read_speech, spoken_sentences

MINUTES = (Path(__file__).parents[3] / "tests" / "data" / "meetings" / "falcon_weekly_minutes.md").read_text()

# A product meeting as AMI transcribes it (tokenised, with disfluency marks), then a Teams-like sync.
DESIGN_MEETING = """Project Manager: {vocalsound} Okay , um so we're here to talk about the remote control design .
Marketing: Mm - hmm .
Industrial Designer: Yeah .
Project Manager: Uh the the production cost has to stay under twelve and a half Euros per unit .
Marketing: Our market research says people want a fancy look and feel , and the buttons must be easy to find .
Industrial Designer: I think the kinetic charging is the best option because the batteries are bulky .
User Interface: The LCD screen would be too expensive for our budget , that's my main worry .
Project Manager: So we've decided on the kinetic charging and a rubber case .
Marketing: Okay .
Project Manager: I'll have a go at the design of the case before the next meeting .
Project Manager: Marketing , can you send me the market report by Friday ?
Marketing: Sure , will do .
Project Manager: And let's have the industrial designer look at the cost of the LCD screen .
Industrial Designer: Okay .
User Interface: I'll just show you the next slide .
Project Manager: Should we decide on the colour now ?
"""


def test_a_name_words_transcript_is_read_as_turns_and_written_minutes_are_not() -> None:
    turns = parse_turns(DESIGN_MEETING)
    assert turns is not None and len(turns) == 16
    assert {t.speaker for t in turns} == {"Project Manager", "Marketing", "Industrial Designer", "User Interface"}
    assert DESIGN_MEETING[turns[3].start :].startswith("Uh the the production cost")
    assert parse_turns(MINUTES) is None  # "Date:", "Attendees:" and action lines are labels, not voices


def test_fillers_marks_stutters_and_backchannels_are_left_out_of_the_reading_but_not_the_text() -> None:
    assert read_speech("{vocalsound} Okay , um so we're here to talk about it .") == "We're here to talk about it."
    assert read_speech("Uh the the production cost is {disfmarker} is high .") == "The production cost is high."
    assert read_speech("I do n't think it 's T_V_ only .") == "I don't think it's TV only."
    assert is_backchannel(read_speech("Mm - hmm .")) and is_backchannel("Yeah.") and is_backchannel("Okay, right.")
    assert not is_backchannel("Yeah, the batteries are bulky.")
    sentences = spoken_sentences(DESIGN_MEETING)
    for sentence in sentences:
        assert DESIGN_MEETING[sentence.start : sentence.end] in DESIGN_MEETING  # the quote stays verbatim
    assert "{vocalsound}" in DESIGN_MEETING[sentences[0].start : sentences[0].end]


def test_meeting_summaries_nest_and_are_made_of_what_was_said(sentence_model: Any) -> None:
    short = summarize(DESIGN_MEETING, SummaryLength.SHORT, embed=sentence_model)
    medium = summarize(DESIGN_MEETING, SummaryLength.MEDIUM, embed=sentence_model)
    detailed = summarize(DESIGN_MEETING, SummaryLength.DETAILED, embed=sentence_model)
    assert short.startswith("Project Manager, Marketing, Industrial Designer and User Interface discussed")
    assert "um" not in re.findall(r"\w+", short + medium + detailed) and "{vocalsound}" not in detailed
    key_point = short.split(". ", 1)[1]  # the gist, then the meeting's key point
    assert key_point in medium and key_point in detailed
    for said in re.findall(r"(?:Project Manager|Marketing|Industrial Designer|User Interface): [^:]+?[.!?]", medium):
        assert said in detailed  # DETAILED covers what MEDIUM covers
    assert "Decided: We've decided on the kinetic charging and a rubber case." in medium
    headings = re.findall(r"^## (.+)$", detailed, flags=re.M)
    assert headings[:2] == ["Overview", "Discussion"]
    assert {"Decisions", "Risks", "Action items", "Open questions"} <= set(headings)
    assert len(detailed) > len(medium) > len(short)


def test_decisions_are_what_was_agreed_with_who_and_the_quote() -> None:
    [spoken] = extract_decisions(DESIGN_MEETING)
    assert spoken.text == "We've decided on the kinetic charging and a rubber case."
    assert spoken.made_by == "Project Manager"
    assert spoken.source_quote in DESIGN_MEETING
    [written] = extract_decisions(MINUTES)
    assert written.text == "The team agreed to freeze scope for release 2.1."
    assert written.made_by == "The team" and written.source_quote in MINUTES
    undecided = "We need to decide on the vendor.\nIf we agreed to that, costs would rise.\nShould we decide now?\n"
    assert extract_decisions(undecided) == []
    marked = "Decisions\n- Go-live moves to 2 June.\n\nDecision: the pilot runs in Lyon only.\n"
    assert [d.text for d in extract_decisions(marked)] == ["Go-live moves to 2 June.", "The pilot runs in Lyon only."]


def test_spoken_action_items_belong_to_the_speaker_or_the_one_asked() -> None:
    items = {(i.owner, i.title) for i in extract_action_items(DESIGN_MEETING)}
    assert items == {
        ("Project Manager", "Have a go at the design of the case"),
        ("Marketing", "Send Project Manager the market report"),
        ("Industrial Designer", "Look at the cost of the LCD screen"),
    }  # "I'll just show you the next slide" happens in the room
    quotes = [i.source_quote for i in extract_action_items(DESIGN_MEETING)]
    assert all(quote in DESIGN_MEETING for quote in quotes)


def test_risks_are_found_without_a_risks_heading_with_a_severity_from_the_impact() -> None:
    written = {r.description.split(",")[0]: r for r in extract_risks(MINUTES)}
    overrun = written["Cloud spend is 18% over the Q1 forecast"]
    assert overrun.severity == "HIGH"  # it exhausts the contingency
    assert overrun.source_quote.startswith("Cloud spend is 18% over the Q1 forecast")
    assert any(d.startswith("The vendor API integration slipped by one week") for d in written)
    assert any(d.startswith("The second QA engineer has not been hired yet") for d in written)
    [spoken] = extract_risks(DESIGN_MEETING)
    assert spoken.description.startswith("The LCD screen would be too expensive for our budget")
    assert "(raised by User Interface)" in spoken.description
    calm = "Alice: The budget is fine.\nBob: I'm not worried about the budget.\nAlice: Good.\nBob: Yes, all good.\n"
    assert extract_risks(calm) == []


def test_the_written_minutes_dates_owners_and_detailed_summary_hold_up(sentence_model: Any) -> None:
    items = extract_action_items(MINUTES, document_date=detect_document_date(MINUTES))
    assert [(i.owner, str(i.due_date)) for i in items][:2] == [("Tom", "2026-10-16"), ("Ana", "2026-10-28")]
    medium = summarize(MINUTES, SummaryLength.MEDIUM, embed=sentence_model)
    detailed = summarize(MINUTES, SummaryLength.DETAILED, embed=sentence_model)
    assert len(detailed) > len(medium)
    assert "Decided: The team agreed to freeze scope for release 2.1." in medium
    assert "Cloud spend is 18% over the Q1 forecast" in medium
    assert "- HIGH: Cloud spend is 18% over the Q1 forecast" in detailed


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "Why did the vendor integration slip?",
            "The vendor API integration slipped by one week because the vendor's sandbox was offline for four days.",
        ),
        ("Is the project over budget?", "Cloud spend is 18% over the Q1 forecast"),
        ("What was decided about scope?", "The team agreed to freeze scope for release 2.1."),
    ],
)
def test_answers_from_written_minutes_are_whole_sentences(question: str, expected: str, sentence_model: Any) -> None:
    text, cited = answer(question, [(1, MINUTES)], sentence_model)
    assert expected in text and cited == [1]
    sentences = re.split(r"(?<=\]) ", text.removeprefix("Yes. "))
    for sentence in sentences:
        said = re.sub(r" \[\d+\]$", "", sentence)
        assert said.endswith((".", "!", "?")) and said in " ".join(MINUTES.split())  # whole, verbatim sentences
    if question.startswith("Is "):
        assert text.startswith("Yes. ")


def test_an_answer_never_repeats_a_sentence_from_overlapping_excerpts(sentence_model: Any) -> None:
    first, second = MINUTES[:900], MINUTES[500:]  # chunks overlap as search returns them
    text, cited = answer(
        "What happened with the budget and the cloud spend?", [(1, first), (2, second)], sentence_model
    )
    sentences = [re.sub(r" \[\d+\]$", "", s) for s in re.split(r"(?<=\]) ", text)]
    assert len(sentences) == len(set(sentences))
    assert set(cited) <= {1, 2}


def test_nothing_relevant_is_not_answered(sentence_model: Any) -> None:
    assert answer("Who is the chief executive of the vendor?", [(1, MINUTES)], sentence_model) == (NO_ANSWER, [])
    assert answer("What is the capital of France?", [(1, MINUTES)], sentence_model) == (NO_ANSWER, [])


def test_a_spoken_answer_says_who_said_it(sentence_model: Any) -> None:
    text, _ = answer("What did the user interface designer worry about?", [(1, DESIGN_MEETING)], sentence_model)
    assert text.startswith("User Interface: The LCD screen would be too expensive for our budget")
