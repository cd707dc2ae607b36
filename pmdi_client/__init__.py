"""A typed client of PM Document Intelligence's public GraphQL API, and the `pmdi` command line built on it."""

from pmdi_client.client import DEFAULT_URL, EventChannel, PmdiClient
from pmdi_client.errors import NotSignedIn, PmdiError
from pmdi_client.models import (
    ActionItem,
    Analysis,
    Answer,
    Decision,
    Document,
    DocumentDetail,
    DocumentPage,
    ModelCall,
    ProcessingEvent,
    Risk,
    RoutingPolicy,
    SearchHit,
    UsageLine,
    UsageReport,
    User,
    to_json,
)
from pmdi_client.tokens import CredentialsFile, MemoryTokens, Tokens, TokenStore

__all__ = [
    "DEFAULT_URL",
    "ActionItem",
    "Analysis",
    "Answer",
    "CredentialsFile",
    "Decision",
    "Document",
    "DocumentDetail",
    "DocumentPage",
    "EventChannel",
    "MemoryTokens",
    "ModelCall",
    "NotSignedIn",
    "PmdiClient",
    "PmdiError",
    "ProcessingEvent",
    "Risk",
    "RoutingPolicy",
    "SearchHit",
    "TokenStore",
    "Tokens",
    "UsageLine",
    "UsageReport",
    "User",
    "to_json",
]
