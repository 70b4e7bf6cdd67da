"""Limits on what one document may ask for, each computed in time linear in the document's size.

Depth and aliases are validation rules; the cost (the nodes a document can return) needs the variables, so it is
computed when the executor is built, after variable coercion, for queries, mutations and subscriptions alike.
Fragments are measured once each, in dependency order, so a spread costs a lookup, not a walk: `...F1 ...F1` in
F0, `...F2 ...F2` in F1, and so on, is 26 small walks, not 2^25 (strawberry's limiters expanded every spread, and
took 256 s on that). A fragment cycle (refused by graphql-core's NoFragmentCycles) counts as nothing here.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from graphql import (
    SKIP,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValidationRule,
    ValueNode,
    VariableNode,
    coerce_input_literal,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)
from graphql.execution.values import VariableValues
from graphql.utilities.coerce_input_value import coerce_default_value
from graphql.validation.rules.overlapping_fields_can_be_merged import OverlappingFieldsCanBeMergedRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from sessions_gql.readpath.executor import ReadPathExecution
from sessions_gql.realtime.frame_execution import SharedFrameExecution

DEFAULT_PAGE_SIZE = 20
"""A connection's page when `first`/`last` is null (the resolvers' default, `cursors.page_size`)."""
DEFAULT_LIST_SIZE = 20
"""The estimate for a plain list (services, packages, notes, conflicts, overrides, introspection lists...)."""
MAX_SLOT_WINDOW_MINUTES = 62 * 24 * 60
"""`availableSlots` refuses longer windows (services.availability.MAX_SLOT_WINDOW)."""
SMALLEST_SLOT_STEP_MINUTES = 5
"""The slot grid's step when the duration is not a multiple of 15 (domain.availability._default_step)."""
OVERLAP_BUDGET = 20_000
"""Work units graphql-core's OverlappingFieldsCanBeMerged may spend on one document (its default, 500,000, took
1.7 s on `{ viewer { unreadMessages } viewer { unreadMessages } ... }` within the token limit)."""
TOO_COMPLEX = "QUERY_TOO_COMPLEX"


# ---------------------------------------------------------------- fragments in dependency order


def _walk(selection_set: SelectionSetNode) -> Iterator[FieldNode | InlineFragmentNode | FragmentSpreadNode]:
    """Every selection under `selection_set`, at any nesting, without recursion."""
    pending = list(selection_set.selections)
    while pending:
        selection = pending.pop()
        yield selection  # type: ignore[misc]
        inner = getattr(selection, "selection_set", None)
        if inner is not None:
            pending.extend(inner.selections)


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def dependency_order(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after the fragments it spreads (post-order DFS, iterative; cycles are cut)."""
    spreads = {name: [s.name.value for s in _walk(f.selection_set) if isinstance(s, FragmentSpreadNode)]
               for name, f in fragments.items()}
    order: list[str] = []
    seen: set[str] = set()
    for root in fragments:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(spreads[root]))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                order.append(name)
            elif child in fragments and child not in seen:
                seen.add(child)
                stack.append((child, iter(spreads[child])))
    return order


# ---------------------------------------------------------------- depth and aliases (validation)


def _depth_and_aliases(selection_set: SelectionSetNode, known: Mapping[str, tuple[int, int]],
                       spread: set[str] | None = None) -> tuple[int, int]:
    """(depth, aliases) of a selection set, fragments looked up in `known`. Depth counts nested selection sets,
    introspection fields not at all, like strawberry's QueryDepthLimiter. A fragment spread again at the same
    level adds nothing (execution merges it: graphql-core collects each fragment once per selection set)."""
    spread = set() if spread is None else spread
    depth = aliases = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            aliases += selection.alias is not None
            if selection.selection_set is not None:
                inner_depth, inner_aliases = _depth_and_aliases(selection.selection_set, known)
                aliases += inner_aliases
                if not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner_depth)
        elif isinstance(selection, InlineFragmentNode):
            inner_depth, inner_aliases = _depth_and_aliases(selection.selection_set, known, spread)
            depth, aliases = max(depth, inner_depth), aliases + inner_aliases
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
            spread.add(selection.name.value)
            inner_depth, inner_aliases = known.get(selection.name.value, (0, 0))
            depth, aliases = max(depth, inner_depth), aliases + inner_aliases
    return depth, aliases


def measure(document: DocumentNode) -> tuple[dict[str, int], int]:
    """Each operation's depth (by name, "anonymous" for none), and the aliases of all operations together."""
    fragments = fragments_of(document)
    known: dict[str, tuple[int, int]] = {}
    for name in dependency_order(fragments):
        known[name] = _depth_and_aliases(fragments[name].selection_set, known)
    depths: dict[str, int] = {}
    aliases = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            depth, count = _depth_and_aliases(definition.selection_set, known)
            name = definition.name.value if definition.name else "anonymous"
            depths[name] = max(depth, depths.get(name, 0))
            aliases += count
    return depths, aliases


def _count(value: int) -> str:
    return str(value) if value < 10**6 else "over 1000000"


def document_limits(*, max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """A rule refusing operations nested deeper than `max_depth` or with more than `max_aliases` aliases (a
    fragment's count at each place it is spread), with strawberry's messages."""

    class DocumentLimits(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            depths, aliases = measure(node)
            for name, depth in depths.items():
                if depth > max_depth:
                    self.report_error(GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}"))
            if aliases > max_aliases:
                self.report_error(GraphQLError(f"{_count(aliases)} aliases found. Allowed: {max_aliases}"))
            return SKIP

    return DocumentLimits


class BoundedOverlappingFields(OverlappingFieldsCanBeMergedRule):
    """graphql-core's rule with a smaller work budget; running out is reported as QUERY_TOO_COMPLEX, once."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = OVERLAP_BUDGET
        self.exhausted = False

    def enter_selection_set(self, *args: Any) -> None:
        if self.exhausted:
            return
        try:
            super().enter_selection_set(*args)
        except ValidationAbortedError:
            self.exhausted = True
            self.report_error(GraphQLError(
                "the document has too many fields of the same name to check; send fewer or use fragments less",
                extensions={"code": TOO_COMPLEX}))


def validation_rules(rules: tuple[type[Any], ...], extra: type[ValidationRule]) -> tuple[type[Any], ...]:
    """The rules with OverlappingFieldsCanBeMerged bounded, and `extra` added."""
    bounded = tuple(BoundedOverlappingFields if rule is OverlappingFieldsCanBeMergedRule else rule for rule in rules)
    return (*bounded, extra)


# ---------------------------------------------------------------- cost (after variable coercion)


class Cost:
    """The nodes (objects) an operation can return: each object-valued field counts the objects it returns, times
    the objects its parent returns. A connection returns `first`/`last` (its default, or DEFAULT_PAGE_SIZE, at most
    the page limit) edges, and its `edges` list is those edges, not a further multiplier; `availableSlots` at most
    one slot per grid step of its window; another list DEFAULT_LIST_SIZE; introspection the size of the schema.
    Scalars are free (the token limit bounds them)."""

    def __init__(self, schema: GraphQLSchema, variables: VariableValues, *, max_page_size: int) -> None:
        self.schema = schema
        self.variables = variables
        self.max_page_size = max_page_size
        self.fragments: dict[str, int] = {}
        self.read: set[str] = set()
        """The variables the cost was computed from (those given to the arguments that size a field)."""

    def of(self, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> int:
        for name in dependency_order(fragments):
            condition = self.schema.get_type(fragments[name].type_condition.name.value)
            self.fragments[name] = self._selections(fragments[name].selection_set, condition) if condition else 0
        root = self.schema.get_root_type(operation.operation)
        return self._selections(operation.selection_set, root) if root else 0

    def _selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType,
                    spread: set[str] | None = None) -> int:
        spread = set() if spread is None else spread
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self._selections(selection.selection_set, inner, spread) if inner else 0
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
                spread.add(selection.name.value)  # spread again at this level, it is merged, not run again
                total += self.fragments.get(selection.name.value, 0)
        return total

    def _field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        if node.name.value in ("__schema", "__type") and parent is self.schema.query_type:
            return introspection_size(self.schema, whole=node.name.value == "__schema")
        definition = _field_definition(self.schema, parent, node.name.value)
        if definition is None or node.selection_set is None:
            return 0
        returned = get_named_type(definition.type)
        if not is_composite_type(returned):
            return 0
        size = self._size(node, parent, definition)
        return size * (1 + self._selections(node.selection_set, returned))

    def _size(self, node: FieldNode, parent: GraphQLNamedType, definition: GraphQLField) -> int:
        if "first" in definition.args or "last" in definition.args:
            # an explicit null is sized as the larger of the argument's default and DEFAULT_PAGE_SIZE: resolvers
            # read it as one or the other (`messages(last: null)` returns 50, `timeline(first: null)` 20)
            sizes = [self._argument(node, definition, name, null=max(_int_default(definition.args[name]),
                                                                      DEFAULT_PAGE_SIZE))
                     for name in ("first", "last") if name in definition.args]
            given = [size for size in sizes if isinstance(size, int)]
            return min(max(max(given, default=DEFAULT_PAGE_SIZE), 0), self.max_page_size)
        if node.name.value == "edges" and parent.name.endswith("Connection"):
            return 1
        if node.name.value == "availableSlots" and parent.name == "Query":
            return self._slots(node, definition)
        return DEFAULT_LIST_SIZE if is_list_type(get_nullable_type(definition.type)) else 1

    def _slots(self, node: FieldNode, definition: GraphQLField) -> int:
        starts, ends = self._argument(node, definition, "from"), self._argument(node, definition, "to")
        minutes = MAX_SLOT_WINDOW_MINUTES
        if isinstance(starts, datetime) and isinstance(ends, datetime):
            minutes = min(max(math.ceil((ends - starts).total_seconds() / 60), 1), minutes)
        duration = self._argument(node, definition, "durationMinutes")
        step = 15 if isinstance(duration, int) and duration > 0 and duration % 15 == 0 else SMALLEST_SLOT_STEP_MINUTES
        return math.ceil(minutes / step) + 1

    def _argument(self, node: FieldNode, definition: GraphQLField, name: str, *, null: Any = None) -> Any:
        """The argument's value as the resolver gets it; `null` stands for an explicit null."""
        spec = definition.args[name]
        for argument in node.arguments or ():
            if argument.name.value == name:
                self.read.update(_variables_in(argument.value))
                value = coerce_input_literal(argument.value, spec.type, self.variables)
                if value is None:
                    return null
                if value is not Undefined:
                    return value
        value = coerce_default_value(spec)
        return None if value is Undefined else value


def _int_default(argument: GraphQLArgument) -> int:
    value = coerce_default_value(argument)
    return value if isinstance(value, int) else 0


def _variables_in(value: ValueNode) -> Iterator[str]:
    if isinstance(value, VariableNode):
        yield value.name.value
    elif isinstance(value, ListValueNode):
        for each in value.values:
            yield from _variables_in(each)
    elif isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield from _variables_in(field.value)


def introspection_size(schema: GraphQLSchema, *, whole: bool) -> int:
    """The objects introspection can return, whatever is selected under it: every type with its fields, their
    arguments, input fields, enum values and interfaces, each type reference four times (`[X!]!` is four
    objects) for `__schema`; the largest single type for `__type`. Nested lists of lists here are bounded by the schema
    (and graphql-core's MaxIntrospectionDepthRule), not by data, so they are not multiplied."""
    sizes = []
    for named in schema.type_map.values():
        fields = list((getattr(named, "fields", None) or {}).values())
        size = 1 + 4 * len(fields) + sum(4 * len(getattr(f, "args", None) or {}) for f in fields)
        size += len(getattr(named, "values", None) or {}) + len(getattr(named, "interfaces", None) or ())
        sizes.append(size)
    directives = sum(1 + 4 * len(directive.args) for directive in schema.directives)
    return sum(sizes) + directives if whole else max(sizes, default=1)


def _field_definition(schema: GraphQLSchema, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields else None


def too_complex(cost: int, max_cost: int) -> GraphQLError:
    shown = min(cost, 10**15)
    return GraphQLError(
        f"query cost {cost if cost < 10**15 else 'over 10^15'} is over the limit of {max_cost} (the nodes it "
        "could return: ask for smaller pages, fewer nested lists or shorter slot windows)",
        extensions={"code": TOO_COMPLEX, "cost": shown, "maxCost": max_cost},
    )


class DocumentRules(SchemaExtension):
    """Puts the bounded OverlappingFields rule in graphql-core's place and adds the depth and alias rule; the rule
    classes are the same objects on every request, so the validation cache still hits."""

    def __init__(self, extra: type[ValidationRule]) -> None:
        self.extra = extra

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = validation_rules(context.validation_rules, self.extra)
        yield


class CostCache:
    """Costs by operation and the values of the variables they were computed from (LRU): a client repeats a
    handful of documents, and walking a big one again on every request showed in the dashboard's profile. Only
    the variables that size a field (`Cost.read`: `first`, `last`, a slot window) are in the key, so a booking's
    `startsAt` or a session's id do not make each request a miss. An operation is kept with its cost, so its
    id is not reused while cached."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._costs: OrderedDict[tuple[int, bytes], tuple[Any, int]] = OrderedDict()
        self._read: OrderedDict[int, tuple[Any, tuple[str, ...]]] = OrderedDict()
        """Per operation, the variables its cost reads (the same for any values: the walk never depends on them)."""
        self.walks = 0

    def of(self, built: Any, *, max_page_size: int) -> int:
        operation = built.operation
        known = self._read.get(id(operation))
        if known is not None and known[0] is operation:
            key = (id(operation), _values_of(built, known[1]))
            found = self._costs.get(key)
            if found is not None and found[0] is operation:
                self._costs.move_to_end(key)
                return found[1]
        walk = Cost(built.schema, built.variable_values, max_page_size=max_page_size)
        cost = walk.of(operation, built.fragment_definitions)
        self.walks += 1
        names = tuple(sorted(walk.read))
        self._read[id(operation)] = (operation, names)
        self._costs[(id(operation), _values_of(built, names))] = (operation, cost)
        for cache in (self._costs, self._read):
            if len(cache) > self.size:
                cache.popitem(last=False)
        return cost


def _values_of(built: Any, names: tuple[str, ...]) -> bytes:
    if not names:
        return b""
    coerced = built.variable_values.coerced  # a variable given as null is in it; one not given is not
    return hashlib.blake2b(repr([(name in coerced, coerced.get(name)) for name in names]).encode(),
                           digest_size=16).digest()


def costed_executor(*, max_cost: int, max_page_size: int) -> type[StrawberryGraphQLCoreExecutionContext]:
    """Strawberry's executor class, refusing an operation over `max_cost` once its variables are coerced (a list
    of errors from `build` is graphql-core's way to answer without executing anything)."""

    costs = CostCache()

    class CostedExecutor(SharedFrameExecution, ReadPathExecution, StrawberryGraphQLCoreExecutionContext):
        @classmethod
        def build(cls, schema: GraphQLSchema, document: DocumentNode, *args: Any, **kwargs: Any) -> Any:
            built = super().build(schema, document, *args, **kwargs)
            if isinstance(built, list):
                return built
            cost = costs.of(built, max_page_size=max_page_size)
            if cost > max_cost:
                return [too_complex(cost, max_cost)]
            return built

    return CostedExecutor
