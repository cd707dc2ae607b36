"""Query depth and cost limits, checked before execution; over the limit is QUERY_TOO_COMPLEX."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
)

# Arguments that multiply the cost of a field's children: they say how many items come back.
PAGE_ARGUMENTS = ("first", "limit")
# A page size given by a variable is unknown at validation time; assume a generous page.
ASSUMED_PAGE_SIZE = 50
# Introspection's __Type.ofType unwraps one list or non-null wrapper: a single object, null past the last wrapper,
# so a chain of it costs nothing however long. Tools (GraphiQL, codegen) ask for 7-9 levels of it, which would
# otherwise take their introspection query past any sensible depth limit.
UNWRAPPING_FIELDS = frozenset({"ofType"})


def _page_size(field: FieldNode, definition: GraphQLField | None) -> int:
    for argument in field.arguments or ():
        if argument.name.value in PAGE_ARGUMENTS:
            if isinstance(argument.value, IntValueNode):
                return max(1, int(argument.value.value))
            return ASSUMED_PAGE_SIZE
    # Left out, the page argument still has its default (`documents` gives 20): it costs that many.
    for name in PAGE_ARGUMENTS:
        default = definition.args[name].default_value if definition and name in definition.args else None
        if isinstance(default, int) and not isinstance(default, bool):
            return max(1, default)
    return 1


def _field(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        field: GraphQLField | None = parent.fields.get(name)
        return field
    return None


def measure(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
    *,
    schema: GraphQLSchema | None = None,
    parent: GraphQLNamedType | None = None,
) -> tuple[int, int, int]:
    """Return (depth, cost, aliases) of a selection set, expanding fragments once per path. With the schema and
    the selection's parent type, a page argument left out costs its default."""
    if selection_set is None:
        return 0, 0, 0
    depth = cost = aliases = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            definition = _field(parent, selection.name.value)
            child_type = get_named_type(definition.type) if definition else None
            child_depth, child_cost, child_aliases = measure(
                selection.selection_set, fragments, seen, schema=schema, parent=child_type
            )
            depth = max(depth, child_depth + (0 if selection.name.value in UNWRAPPING_FIELDS else 1))
            cost += 1 + _page_size(selection, definition) * child_cost
            aliases += child_aliases + (1 if selection.alias else 0)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner = schema.get_type(condition.name.value) if schema and condition else parent
            d, c, a = measure(selection.selection_set, fragments, seen, schema=schema, parent=inner)
            depth, cost, aliases = max(depth, d), cost + c, aliases + a
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                continue  # unknown or cyclic spreads are reported by the standard rules
            inner = schema.get_type(fragment.type_condition.name.value) if schema else None
            d, c, a = measure(fragment.selection_set, fragments, seen | {name}, schema=schema, parent=inner)
            depth, cost, aliases = max(depth, d), cost + c, aliases + a
    return depth, cost, aliases


def complexity_rule(*, max_depth: int, max_cost: int, max_aliases: int) -> type[ValidationRule]:
    """A validation rule class enforcing the given limits."""

    class ComplexityRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragments = {
                d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            depth, cost, aliases = measure(node.selection_set, self._fragments, schema=schema, parent=root)
            problem = None
            if depth > max_depth:
                problem = f"query depth {depth} exceeds the limit of {max_depth}"
            elif cost > max_cost:
                problem = f"query cost {cost} exceeds the limit of {max_cost}"
            elif aliases > max_aliases:
                problem = f"query uses {aliases} aliases, over the limit of {max_aliases}"
            if problem:
                self.report_error(GraphQLError(problem, node, extensions={"code": "QUERY_TOO_COMPLEX"}))

    return ComplexityRule
