"""The committed schema snapshot is the schema the gateway serves; a change to the API shows in review."""

from __future__ import annotations

from pathlib import Path

from services.gateway.schema import build_schema
from services.gateway.settings import GatewaySettings

SNAPSHOT = Path(__file__).resolve().parent.parent / "services" / "gateway" / "schema.graphql"


def test_schema_matches_the_committed_snapshot() -> None:
    served = build_schema(GatewaySettings()).as_str().strip() + "\n"
    assert SNAPSHOT.read_text() == served, "run `make schema` and commit services/gateway/schema.graphql"


def test_the_contract_names_are_all_there() -> None:
    served = build_schema(GatewaySettings()).as_str()
    for name in (
        "me: User!",
        "documents(first: Int = 20, after: String = null, status: DocumentStatus = null): DocumentConnection!",
        "document(id: ID!): Document",
        "uploadDocument(file: Upload!, title: String = null, replaces: ID = null): Document!",
        "documentEvents(documentId: ID = null): ProcessingEvent!",
        "summary(length: SummaryLength! = MEDIUM): String",
        "search(query: String!, mode: SearchMode = HYBRID, limit: Int = 10, documentIds: [ID!] = null): [SearchHit!]!",
        "ask(question: String!, documentIds: [ID!] = null): Answer!",
        "usage(since: DateTime = null, until: DateTime = null): UsageReport!",
        # v2: the project register
        "decisions: [Decision!]!",
        "actionItems(owner: String = null, status: [ItemStatus!] = null, dueBefore: Date = null, "
        "documentIds: [ID!] = null, first: Int = 50, after: String = null): TrackedActionItemConnection!",
        "riskRegister(minSeverity: Severity = null, status: [RiskStatus!] = null, first: Int = 50, "
        "after: String = null): TrackedRiskConnection!",
        "decisions(documentIds: [ID!] = null, first: Int = 50, after: String = null): TrackedDecisionConnection!",
        "documentChanges(documentId: ID!): DocumentChanges",
        "estimateAnalysisCost(pages: Int!, costPriority: CostPriority = null): CostEstimate!",
        "updateActionItem(id: ID!, status: ItemStatus, owner: String, dueDate: Date): TrackedActionItem!",
        "updateRisk(id: ID!, status: RiskStatus, severity: Severity, mitigation: String): TrackedRisk!",
        "alerts: Alert!",
        "type Mention {\n  document: Document!\n  sourceQuote: String!\n  page: Int",
    ):
        assert name in served, name
