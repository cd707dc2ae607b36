"""One phrasing class per test: how project documents assign work, and statements that only look like tasks."""

from __future__ import annotations

from datetime import date

import pytest

from services.analysis.local import extract_action_items, extract_risks
from services.analysis.local.dates import due_date
from services.analysis.local.owners import people

# A Wednesday; "Friday" is 7 June, "next week" ends on 14 June.
WEDNESDAY = date(2024, 6, 5)
HEADER = "Weekly project sync\n\nAttendees: Priya Shah, Tom Keller, Ana Lopez, Ravi Kumar\n\nNotes\n"


def items(body: str, header: str = HEADER) -> list[tuple[str, str | None, date | None]]:
    return [(a.title, a.owner, a.due_date) for a in extract_action_items(header + body, document_date=WEDNESDAY)]


def test_lower_case_parties_own_their_duties() -> None:
    found = items(
        "The supplier will deliver the revised test plan by Friday.\n"
        "The vendor shall provide a weekly defect report.\n"
        "The legal team will review the contract by 20 June.\n"
    )
    assert found == [
        ("Deliver the revised test plan", "Supplier", date(2024, 6, 7)),
        ("Provide a weekly defect report", "Vendor", None),
        ("Review the contract", "Legal", date(2024, 6, 20)),
    ]


def test_a_partys_forecast_or_contingent_duty_is_not_a_task() -> None:
    assert (
        items(
            "There is a risk that the supplier will miss the June window.\n"
            "If the vendor slips, the client will need to extend the contract.\n"
            "The supplier will likely be late.\n"
            "The customer will receive a confirmation email.\n"
        )
        == []
    )


def test_passive_duties_become_imperatives_with_their_owner() -> None:
    found = items(
        "Sign-off of the entry criteria to be obtained from the sponsor (owner: Priya) by 14 June.\n"
        "The hosting options paper is to be circulated to the board by Tom before the design review.\n"
    )
    assert found == [
        ("Obtain sign-off of the entry criteria from the sponsor", "Priya", date(2024, 6, 14)),
        ("Circulate the hosting options paper to the board before the design review", "Tom", None),
    ]


def test_passive_duties_keep_particles_and_names() -> None:
    found = items(
        "The cutover checklist is to be signed off by Priya by Friday.\n"
        "Tom needs to be informed by Ana before the release.\n"
    )
    assert found == [
        ("Sign off the cutover checklist", "Priya", date(2024, 6, 7)),
        ("Inform Tom before the release", "Ana", None),
    ]


def test_passive_without_an_owner_or_inside_a_risk_is_not_a_task() -> None:
    assert (
        items(
            "Minutes to be circulated by Friday.\n"
            "The status needs to be green before go-live.\n"
            "The risk is that the data needs to be reloaded by the vendor.\n"
        )
        == []
    )


def test_owner_first_lines() -> None:
    assert items("Owner: Tom \u2013 approve the budget by Friday\n") == [
        ("Approve the budget", "Tom", date(2024, 6, 7))
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "ACTION \u2013 Priya to circulate the minutes by Monday.",
            ("Circulate the minutes", "Priya", date(2024, 6, 10)),
        ),
        ("[ACTION] Ana to draft the comms plan by Friday", ("Draft the comms plan", "Ana", date(2024, 6, 7))),
        ("Action (Tom): book the room for the workshop", ("Book the room for the workshop", "Tom", None)),
    ],
)
def test_action_markers(line: str, expected: tuple[str, str | None, date | None]) -> None:
    assert items(line + "\n") == [expected]


def test_item_owner_due_tables_list_tasks_but_not_deliverables_or_done_rows() -> None:
    table = (
        "| # | Item | Owner | Due | Status |\n|---|---|---|---|---|\n"
        "| 1 | Refresh the UAT environment | Ravi | 1 Jun | Done |\n"
        "| 2 | Finalise the onboarding test scripts | Ana | 12 Jun | Open |\n"
        "| 3 | Training materials | Tom | 10 Jun | In progress |\n"
    )
    assert items(table, header="UAT readiness\n\nAttendees: Ravi Kumar, Ana Lopez, Tom Keller\n\n") == [
        ("Finalise the onboarding test scripts", "Ana", date(2024, 6, 12))
    ]


def test_milestone_tables_are_not_task_lists() -> None:
    table = "| Milestone | Owner | Date |\n|---|---|---|\n| Approve the design | Tom | 30 Jun |\n"
    assert items(table, header="Plan\n\nAttendees: Tom Keller\n\n") == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Priya said she will chase the vendor for the quote.", ("Chase the vendor for the quote", "Priya", None)),
        ("Chris offered to get a quote for the extension.", ("Get a quote for the extension", "Chris", None)),
        ("Ana volunteered to run the training sessions.", ("Run the training sessions", "Ana", None)),
        ("Ravi was asked to prepare the board paper.", ("Prepare the board paper", "Ravi", None)),
        ("It was agreed that Tom will own the cutover plan.", ("Own the cutover plan", "Tom", None)),
        ("Priya is responsible for updating the RAID log.", ("Update the RAID log", "Priya", None)),
        ("Tom will take an action to confirm the test window.", ("Confirm the test window", "Tom", None)),
        ("We asked the vendor to provide a revised quote.", ("Provide a revised quote", "Vendor", None)),
        ("Can Ravi check the licence count before renewal?", ("Check the licence count before renewal", "Ravi", None)),
    ],
)
def test_commitments_in_reported_speech(line: str, expected: tuple[str, str | None, date | None]) -> None:
    header = "Minutes\n\nAttendees: Priya Shah, Chris Duffy, Ana Lopez, Ravi Kumar, Tom Keller\n\nNotes\n"
    assert items(line + "\n", header=header) == [expected]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Priya (PM) to circulate the revised plan.", ("Circulate the revised plan", "Priya", None)),
        ("Tom and Ana to review the cutover runbook.", ("Review the cutover runbook", "Tom", None)),
        ("Ana/Ravi to update the runbook.", ("Update the runbook", "Ana", None)),
        ("Finally, Tom will demo the portal to Finance.", ("Demo the portal to Finance", "Tom", None)),
        ("Tom \u2013 to send the revised plan to the sponsor.", ("Send the revised plan to the sponsor", "Tom", None)),
        ("Ana: please share the test results.", ("Share the test results", "Ana", None)),
        ("Our vendor contact, Ravi Kumar, will send the report.", ("Send the report", "Ravi Kumar", None)),
        ("Tom will, by 14 June, confirm the rollback plan.", ("Confirm the rollback plan", "Tom", date(2024, 6, 14))),
        ("Platform team to load-test the new gateway.", ("Load-test the new gateway", "Platform", None)),
    ],
)
def test_subjects_as_minutes_write_them(line: str, expected: tuple[str, str | None, date | None]) -> None:
    assert items(line + "\n") == [expected]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Follow up with Finance on the accrual (Tom).", ("Follow up with Finance on the accrual", "Tom", None)),
        ("Refresh the burn-down chart [Ana].", ("Refresh the burn-down chart", "Ana", None)),
        (
            "Update the status page templates (Ana, 14/06)",
            ("Update the status page templates", "Ana", date(2024, 6, 14)),
        ),
        ("Confirm the hosting costs \u2013 Ravi (Fri).", ("Confirm the hosting costs", "Ravi", date(2024, 6, 7))),
        ("Update the tracker (Action: Ravi, due Friday).", ("Update the tracker", "Ravi", date(2024, 6, 7))),
        (
            "Review the failover runbook \u2013 owner Tom \u2013 by 21 June",
            ("Review the failover runbook", "Tom", date(2024, 6, 21)),
        ),
    ],
)
def test_owners_after_the_task(line: str, expected: tuple[str, str | None, date | None]) -> None:
    assert items(line + "\n") == [expected]


def test_past_facts_decisions_and_opinions_are_not_tasks() -> None:
    assert (
        items(
            "Agreed to move the launch to July.\n"
            "Decided to keep the current vendor.\n"
            "Tom sent the contract to Legal last week.\n"
            "Priya will likely be late to the workshop.\n"
            "Ana will probably need more time.\n"
            "Priya noted that she would prefer a phased rollout.\n"
            "Tom said they will fix the defect next week.\n"
            "Ravi explained that he will lose the test slot if the build slips.\n"
            "The new tool Jira will replace the spreadsheet.\n"
            "Last week Ravi was asked to prepare the board paper, which he has now circulated.\n"
        )
        == []
    )


def test_a_decisions_section_records_decisions_but_keeps_a_named_persons_task() -> None:
    found = items(
        "## Decisions\n\n- UAT will run for three weeks, not four.\n- The vendor will provide second-line support.\n"
        "- Tom to tell the other bidders.\n\n## Decisions needed\n\n- Sponsor to approve the change request.\n",
        header="# Steering committee\n\nAttendees: Tom Keller, Priya Shah\n\n",
    )
    assert [(title, who) for title, who, _ in found] == [
        ("Tell the other bidders", "Tom"),
        ("Approve the change request", "Sponsor"),
    ]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("send it next Friday", date(2024, 6, 14)),
        ("send it by COB Thursday", date(2024, 6, 6)),
        ("send it by close of business Friday", date(2024, 6, 7)),
        ("send it by EOD 14 June", date(2024, 6, 14)),
        ("send it by end of day", date(2024, 6, 5)),
        ("send it on Friday next week", date(2024, 6, 14)),
        ("send it by Monday of next week", date(2024, 6, 10)),
    ],
)
def test_due_date_phrases(phrase: str, expected: date) -> None:
    assert due_date(phrase, WEDNESDAY)[0] == expected


@pytest.mark.parametrize(
    ("text", "author"),
    [
        ("Hi all,\nI'll send the plan.\n\nRegards, Priya Shah\n", "Priya Shah"),
        ("Hi all\n\nI'll send it.\n\nThanks\nPriya\nPMO\n", "Priya"),
        ("Hi team,\nI will send it.\n\nBest wishes,\nPriya Shah (PM)\n", "Priya Shah"),
        ("Hi,\nThanks all for the input.\n\nCheers,\nTom Keller, PMO lead\n", "Tom Keller"),
    ],
)
def test_email_sign_offs_name_the_author(text: str, author: str) -> None:
    assert people(text).author == author


def test_a_team_some_people_short_is_a_risk() -> None:
    risks = extract_risks("Resourcing\n\nThe test team is two testers short for the integration test phase.\n")
    assert [r.description for r in risks] == ["The test team is two testers short for the integration test phase"]
