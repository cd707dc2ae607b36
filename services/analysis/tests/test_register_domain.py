"""The register's rules on their own: what counts as the same entry, what a sentence says of a status, how a
person's change is kept, and what a version changes against the one it replaces."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.analysis.register.domain import (
    MATCH_THRESHOLD,
    Entry,
    Mention,
    apply,
    best_match,
    core,
    likeness,
    same_owner,
    status_of,
    status_statements,
    word_set,
)
from services.analysis.register.handlers import compare


def test_the_core_leaves_out_who_and_when() -> None:
    assert (
        core("Raj will deliver the integration plan by 11 September.", ["Raj"]) == "will deliver the integration plan"
    )
    assert core("Owen updated the budget forecast on Friday; spend is on plan.", ["Owen"]) == (
        "updated the budget forecast ; spend is on plan."
    )


def test_statuses_said_in_a_sentence() -> None:
    assert status_of("The integration plan was delivered on Wednesday.", "action_item") == "DONE"
    assert status_of("Lucia completed the UAT test cases on Thursday.", "action_item") == "DONE"
    assert status_of("The SSO pilot has been dropped because nobody has time.", "action_item") == "DROPPED"
    assert status_of("Lucia has started drafting the UAT test cases.", "action_item") == "IN_PROGRESS"
    assert status_of("The integration plan has not been delivered yet.", "action_item") is None
    assert status_of("Raj will deliver the integration plan by Friday.", "action_item") is None
    assert status_of("The key-person risk on the export scripts is resolved.", "risk") == "CLOSED"
    assert status_of("The vendor risk is now mitigated by a second supplier.", "risk") == "MITIGATED"
    assert status_of("The vendor risk has not been mitigated.", "risk") is None


def test_status_statements_leave_out_what_a_finding_already_quotes() -> None:
    text = "Owen updated the budget forecast on Friday. Raj will deliver the plan by Monday.\n"
    [statement] = status_statements(text, quoted=["Raj will deliver the plan by Monday."])
    assert (statement.kind, statement.status, statement.statement) == ("action_item", "DONE", True)
    assert statement.source_quote == "Owen updated the budget forecast on Friday."


def test_owners_agree_when_unknown_or_the_same_person() -> None:
    assert same_owner("Raj", "Raj Patel") and same_owner(None, "Raj") and same_owner("raj", "Raj")
    assert not same_owner("Raj", "Owen")


def _candidate(entry: Entry, cosine: float, words: str) -> tuple[Entry, float, list[str]]:
    return entry, cosine, sorted(word_set(words))


def test_a_mention_joins_the_likeliest_entry_whose_owner_agrees() -> None:
    plan = Entry("plan", "action_item", "Deliver the integration plan", "OPEN", owner="Raj")
    pilot = Entry("pilot", "action_item", "Run the SSO pilot", "OPEN", owner="Raj")
    owens = Entry("owens", "action_item", "Deliver the integration plan", "OPEN", owner="Owen")
    mention = Mention("action_item", "Share it", "Dev still owes the integration plan: Raj will share it.", owner="Raj")
    words = word_set(core(mention.source_quote, ["Raj"]))
    candidates = [
        _candidate(owens, 0.9, "will deliver the integration plan"),  # another owner: never
        _candidate(pilot, 0.5, "to run the SSO pilot with two agents"),
        _candidate(plan, 0.49, "will deliver the integration plan"),
    ]
    assert best_match(mention, words, candidates) is plan
    assert best_match(mention, words, [candidates[1]]) is None  # below the threshold
    assert likeness(0.49, words, word_set("will deliver the integration plan")) >= MATCH_THRESHOLD


def test_news_updates_an_entry_but_a_persons_field_stays() -> None:
    item = Entry("a", "action_item", "Deliver the plan", "OPEN", owner="Raj", due_date=date(2026, 9, 11))
    apply(item, Mention("action_item", "Share it", "q", owner="Raj", due_date=date(2026, 9, 16)))
    assert item.due_date == date(2026, 9, 16) and item.changed == {"due_date"}
    apply(item, Mention("action_item", "", "The plan was delivered.", status="DONE", statement=True))
    assert item.status == "DONE"
    kept = Entry("b", "action_item", "Deliver the plan", "DONE", person_fields=frozenset({"status"}))
    apply(kept, Mention("action_item", "Deliver the plan", "Raj will deliver the plan."))  # listed again
    assert kept.status == "DONE" and "status" not in kept.changed
    risk = Entry("r", "risk", "Vendor delay", "OPEN", severity="MEDIUM")
    apply(risk, Mention("risk", "Vendor delay", "q", severity="CRITICAL"))
    apply(risk, Mention("risk", "Vendor delay", "q", severity="LOW"))  # a milder mention never lowers it
    assert risk.severity == "CRITICAL"
    apply(risk, Mention("risk", "", "The vendor risk is closed.", status="CLOSED", statement=True))
    assert risk.status == "CLOSED"


def _row(entry: str, kind: str, status: Any = None, severity: Any = None) -> dict[str, Any]:
    return {"entry_id": entry, "kind": kind, "status": status, "severity": severity}


def test_a_version_against_the_one_it_replaces() -> None:
    previous = [
        _row("dry-run", "action_item"),
        _row("checkpoint", "action_item"),
        _row("report", "action_item"),
        _row("sandbox", "risk", "OPEN", "CRITICAL"),
        _row("data", "risk", "OPEN", "MEDIUM"),
        _row("emea", "decision"),
    ]
    current = [
        _row("dry-run", "action_item", "DONE"),  # reported done
        _row("report", "action_item"),  # still listed
        _row("war-room", "action_item"),  # new
        _row("data", "risk", "OPEN", "HIGH"),  # worse
        _row("overtime", "risk", "OPEN", "HIGH"),  # new
        _row("go-live", "decision"),  # new
        _row("plan", "action_item", "DONE"),  # news about an entry the old version did not list: not "added"
    ]
    assert compare(previous, current) == {
        "action_items_added": ["war-room"],
        "action_items_closed": ["dry-run", "checkpoint"],
        "risks_added": ["overtime"],
        "risks_retired": ["sandbox"],
        "risks_escalated": ["data"],
        "decisions_added": ["go-live"],
    }
