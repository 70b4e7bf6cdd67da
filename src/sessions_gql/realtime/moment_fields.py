"""The fields whose answer depends on the moment of execution, and whether an operation selects one: a
subscription that does executes every event per subscriber (realtime/frames.py)."""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
)

MOMENT_FIELDS = frozenset({
    ("Session", "videoRoom"),  # the clock: from 15 minutes before the start until the end
    ("Session", "waitingRoom"),  # presence
    ("Session", "allowedActions"),  # the clock: deadlines and windows
    ("Session", "conflicts"),  # busy time imported from calendars, which changes without an event here
    ("Member", "sponsorships"),  # the clock: sponsorships still valid
    ("Member", "sponsoredHoursRemaining"),
    ("Member", "sessions"),  # the clock: the UPCOMING and PAST views
    ("Provider", "sessions"),
    ("Package", "sessions"),
})
"""Fields whose answer depends on the moment of execution, by (type, field)."""

def reads_the_moment(schema: GraphQLSchema, operation: OperationDefinitionNode,
                     fragments: Mapping[str, FragmentDefinitionNode]) -> bool:
    """Whether the operation selects a field of MOMENT_FIELDS anywhere (directives ignored: a field that
    @skip may leave out counts). Each fragment is walked once; a field of an interface or union counts if
    it is in MOMENT_FIELDS for any of its types."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return False
    pending: list[tuple[SelectionSetNode, GraphQLNamedType]] = [(operation.selection_set, root)]
    walked: set[str] = set()
    while pending:
        selection_set, parent = pending.pop()
        kinds = schema.get_possible_types(parent) if is_abstract_type(parent) else [parent]
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if any((kind.name, name) in MOMENT_FIELDS for kind in kinds):
                    return True
                field = (getattr(parent, "fields", None) or {}).get(name)
                if field is not None and selection.selection_set is not None:
                    pending.append((selection.selection_set, get_named_type(field.type)))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                if inner is not None:
                    pending.append((selection.selection_set, inner))
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in walked:
                walked.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                inner = schema.get_type(fragment.type_condition.name.value) if fragment else None
                if fragment is not None and inner is not None:
                    pending.append((fragment.selection_set, inner))
    return False
