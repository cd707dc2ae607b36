"""The GraphQL schema: the public contract, assembled from its parts, with limits and error policy."""

from __future__ import annotations

import strawberry
from graphql import ASTValidationRule, GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from services.gateway.accounts import AccountMutation, AccountQuery, AuditQuery
from services.gateway.documents import DocumentMutation, DocumentQuery, DocumentSubscription
from services.gateway.errors import public_errors
from services.gateway.insights import InsightMutation, InsightQuery
from services.gateway.limits import complexity_rule
from services.gateway.organization_data import OrganizationDataMutation
from services.gateway.register import RegisterMutation, RegisterQuery, RegisterSubscription
from services.gateway.sessions import SessionMutation, SessionQuery
from services.gateway.settings import GatewaySettings

Query = merge_types("Query", (AccountQuery, SessionQuery, AuditQuery, DocumentQuery, InsightQuery, RegisterQuery))
Mutation = merge_types(
    "Mutation",
    (AccountMutation, SessionMutation, OrganizationDataMutation, DocumentMutation, InsightMutation, RegisterMutation),
)
Subscription = merge_types("Subscription", (DocumentSubscription, RegisterSubscription))


class GatewaySchema(strawberry.Schema):
    """strawberry logs every error with its traceback; ours are classified and logged in `to_public`."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        return None


def build_schema(settings: GatewaySettings) -> strawberry.Schema:
    """The schema with its limits and error policy."""
    complexity = complexity_rule(
        max_depth=settings.max_query_depth, max_cost=settings.max_query_cost, max_aliases=settings.max_aliases
    )
    rules: list[type[ASTValidationRule]] = [complexity]
    if not settings.allows_introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            # Clients send the same few operations over and over: parse and validate each text once.
            lambda: ParserCache(maxsize=1024),
            lambda: AddValidationRules(rules),
            lambda: ValidationCache(maxsize=1024),
            public_errors(hide_suggestions=settings.production),
        ],
    )
