"""What one GraphQL request may ask: its size, depth, breadth and cost.

A query that goes beyond a limit is refused before anything is resolved, with HTTP 400, an
error code and a message naming the limit:

- the request (``api.graphql.schema``'s router): the query text at most ``MAX_QUERY_BYTES``,
  the variables at most ``MAX_VARIABLES`` of them in ``MAX_VARIABLES_BYTES`` of JSON
  (``query_too_large``, ``variables_too_large``);
- the document as parsed: ``MAX_TOKENS`` tokens, and at most ``MAX_FIELDS`` fields once its
  fragments are written out (``query_too_large``): a few fragments that each spread the next
  twice would otherwise ask for millions of fields in a few hundred bytes, and the depth and
  alias rules below would spend seconds of CPU walking them;
- validation: ``MAX_DEPTH`` levels, ``MAX_ALIASES`` aliases, and no introspection when the
  settings turn it off (``invalid_query``, ``introspection_disabled``);
- the estimated cost, with the request's variables: at most ``MAX_COST``
  (``query_too_costly``). The cost counts the objects a query may return: each object field
  counts once, times the size of every list it is in. A list holds ``first`` items where
  the field (or the page object above it) takes ``first``, ``DEFAULT_LIST_SIZE`` where it
  does not (a young person's flags, transitions, decisions). Scalars are free: they come
  with their object; so is introspection, bounded by the schema (and off in production).
  The dashboard's largest query (a caseload page of 100 with flags and alerts) costs about
  2,300, 11,500 with the largest page (500); a page of 500 alerts each with its young
  person's timeline of 1,000 entries, 500,000.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_composite_type,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from api.graphql.context import Context
from api.graphql.errors import graphql_error

MAX_QUERY_BYTES = 64 * 1024
"""Room for a mutation with a note of the longest kind written inline (10,000 characters)."""
MAX_VARIABLES = 50
MAX_VARIABLES_BYTES = 64 * 1024
MAX_TOKENS = 5000
MAX_FIELDS = 5000
"""Fields once fragments are written out: as many as tokens, so fragments may shorten a
query but not multiply it."""
MAX_DEPTH = 10
MAX_ALIASES = 100
MAX_COST = 20_000
DEFAULT_LIST_SIZE = 10

QUERY_TOO_LARGE = "query_too_large"
VARIABLES_TOO_LARGE = "variables_too_large"
QUERY_TOO_COSTLY = "query_too_costly"
INTROSPECTION_DISABLED = "introspection_disabled"

# Documents validated are kept (dashboards send the same few queries over and over):
# validation costs more than executing a caseload query.
CACHED_DOCUMENTS = 256


# --- the request ------------------------------------------------------------------------------


class RequestRefusedError(Exception):
    """A GraphQL request refused before it is parsed: answered with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def check_request_size(query: str | None, variables: Mapping[str, Any] | None) -> None:
    """``RequestRefusedError`` for a query text or variables beyond their limits."""
    if query is not None:
        size = len(query.encode("utf-8", "surrogatepass"))
        if size > MAX_QUERY_BYTES:
            raise RequestRefusedError(
                400,
                QUERY_TOO_LARGE,
                f"the query is {size} bytes long; at most {MAX_QUERY_BYTES} are accepted",
            )
    if variables:
        if len(variables) > MAX_VARIABLES:
            raise RequestRefusedError(
                400,
                VARIABLES_TOO_LARGE,
                f"{len(variables)} variables were sent; at most {MAX_VARIABLES} are accepted",
            )
        size = len(json.dumps(variables, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        if size > MAX_VARIABLES_BYTES:
            raise RequestRefusedError(
                400,
                VARIABLES_TOO_LARGE,
                f"the variables are {size} bytes of JSON; at most {MAX_VARIABLES_BYTES} "
                "are accepted",
            )


# --- the document: fields once fragments are expanded -----------------------------------------


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def expanded_fields(document: DocumentNode) -> int:
    """How many fields the document selects with every fragment spread written out (each
    fragment counted once and reused, so this is linear in the document's size; a cycle
    counts nothing, validation refuses it)."""
    fragments = _fragments(document)
    counted: dict[str, int] = {}
    in_progress: set[str] = set()

    def fields(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + fields(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += fields(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += fragment(selection.name.value)
        return total

    def fragment(name: str) -> int:
        if name not in counted:
            definition = fragments.get(name)
            if definition is None or name in in_progress:
                return 0
            in_progress.add(name)
            counted[name] = fields(definition.selection_set)
            in_progress.discard(name)
        return counted[name]

    return sum(
        fields(definition.selection_set)
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    )


# --- the cost -----------------------------------------------------------------------------------


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The objects the (valid) operation may return; see the module's docstring."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0  # no such operation: execution answers that
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    fragments = _fragments(document)
    values = variables or {}
    costed: dict[tuple[str, str, int | None], int] = {}

    def page_size(field: FieldNode) -> int | None:
        argument = next((a for a in field.arguments or () if a.name.value == "first"), None)
        if argument is None:
            return None
        node = argument.value
        value: Any = values.get(node.name.value) if isinstance(node, VariableNode) else None
        if isinstance(node, IntValueNode):
            value = int(node.value)
        # A value of another type is refused when the variables are read.
        return max(0, value) if isinstance(value, int) else None

    def selections(
        selection_set: SelectionSetNode | None, parent: GraphQLNamedType, page: int | None
    ) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += field_cost(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                named = schema.get_type(condition.name.value) if condition else parent
                total += selections(selection.selection_set, named or parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += fragment_cost(selection.name.value, page)
        return total

    def fragment_cost(name: str, page: int | None) -> int:
        definition = fragments.get(name)
        if definition is None:
            return 0
        condition = definition.type_condition.name.value
        key = (name, condition, page)
        if key not in costed:
            costed[key] = 0  # a cycle (refused by validation) counts nothing
            named = schema.get_type(condition)
            if named is not None:
                costed[key] = selections(definition.selection_set, named, page)
        return costed[key]

    def field_cost(field: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        name = field.name.value
        if name.startswith("__"):
            return 0  # __typename, and introspection: bounded by the schema's size
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if not is_composite_type(named):
            return 0
        first = page_size(field)
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            if first is None:
                first = page if page is not None else DEFAULT_LIST_SIZE
            return first * (1 + selections(field.selection_set, named, None))
        # A page object: `first` sizes the list of entries beneath it.
        return 1 + selections(field.selection_set, named, first)

    return selections(operation.selection_set, root, None)


# --- the extension -----------------------------------------------------------------------------


class IntrospectionDisabled(NoSchemaIntrospectionCustomRule):
    """No ``__schema`` or ``__type`` (``__typename`` stays): the rule, its errors coded."""

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": INTROSPECTION_DISABLED}
        super().report_error(error)


_validate: Callable[..., list[GraphQLError]] = lru_cache(maxsize=CACHED_DOCUMENTS)(
    validate_document
)


def _introspection_allowed(context: object) -> bool:
    # Without the app's context (a test calling the schema directly): the default, on.
    return not isinstance(context, Context) or context.services.settings.graphql_introspection


class QueryLimits(SchemaExtension):
    """Validation with every limit: the expanded size first (cheap, and it keeps the
    validation rules from walking an exponential document), then the validation rules
    (cached per document and rule set), then the cost with this request's variables."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        context.pre_execution_errors = self._errors(document)
        yield

    def _errors(self, document: DocumentNode) -> list[GraphQLError]:
        context = self.execution_context
        fields = expanded_fields(document)
        if fields > MAX_FIELDS:
            return [
                graphql_error(
                    QUERY_TOO_LARGE,
                    f"the query selects {fields} fields once its fragments are expanded; "
                    f"at most {MAX_FIELDS} are accepted",
                )
            ]
        rules = context.validation_rules
        if not _introspection_allowed(context.context):
            rules = (*rules, IntrospectionDisabled)
        schema = context.schema._schema
        errors = _validate(schema, document, rules)
        if errors:
            return errors
        cost = estimate_cost(schema, document, context.operation_name, context.variables)
        if cost > MAX_COST:
            return [
                graphql_error(
                    QUERY_TOO_COSTLY,
                    f"the query may return {_count(cost)} objects; at most {MAX_COST} are "
                    "accepted (ask for smaller pages with `first`, or fewer nested lists)",
                )
            ]
        return []


def _count(cost: int) -> str:
    return str(cost) if cost < 10**9 else "more than 1000000000"
