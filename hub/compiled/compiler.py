"""A registered document, compiled once: what it reads (its policy plan) and the shape of its answer.

The compiled subset is one query with one root field, of two shapes. `applicant(idNumber:)`,
selecting the applicant's scalars and, at most once each, `profile(fields:)` with `source`,
`materials(typeCodes:)` with `versions`, and `cases(last:)` with `items { item }`: the clerk's
screen, compiled here. `oneTimeNotice(items:, idNumber:, catalogVersion:)` with the fields its
use case's result holds, compiled in hub/compiled/notice.py (hub/compiled/registry.py
sends each document to its compiler). Arguments are literals or variables.
Any other document (a fragment, a directive, `__typename`, another root field, an argument outside
these) compiles to nothing and is served by the resolvers.

The policy plan is the list of guard calls the resolvers make for the same document, in terms of
the request's variables: `applicant.lookup`, then `profile.read` with the fields asked (`*` for
all), `material.read` with the material types asked (`*` for all), `case.search`. The documents
are validated against the schema when registered (app/commands/documents.py), so a name here
means what the schema says it means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    FieldNode,
    GraphQLError,
    IntValueNode,
    ListValueNode,
    NonNullTypeNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    parse,
)

from storage.repositories.compiled import APPLICANT, CASE, MATERIAL, PROFILE, SERVICE_ITEM, SOURCE, VERSION, Shape

# The nested members of each record the subset allows: GraphQL field -> (member, its columns,
# the arguments it may take).
_NESTED: dict[str, dict[str, tuple[str, dict[str, Any], frozenset[str]]]] = {
    "applicant": {
        "profile": ("profile", PROFILE, frozenset({"fields"})),
        "materials": ("materials", MATERIAL, frozenset({"typeCodes"})),
        "cases": ("cases", CASE, frozenset({"last"})),
    },
    "profile": {"source": ("source", SOURCE, frozenset())},
    "materials": {"versions": ("versions", VERSION, frozenset())},
    "cases": {"items": ("items", {}, frozenset())},
    "items": {"item": ("item", SERVICE_ITEM, frozenset())},
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class NotCompiled(Exception):
    """The document is outside the compiled subset."""


@dataclass(frozen=True, slots=True)
class Argument:
    """An argument as the document gives it: a literal value, or a variable and its default."""

    literal: Any = None
    variable: str | None = None
    default: Any = None
    given: bool = False
    required: bool = False  # a variable declared non-null: GraphQL refuses the request without a value

    def value(self, variables: Mapping[str, Any]) -> Any:
        if self.variable is None:
            return self.literal
        return variables.get(self.variable, self.default)

    def missing(self, variables: Mapping[str, Any]) -> bool:
        """A non-null variable without a value: the resolvers answer GraphQL's error."""
        return self.required and self.value(variables) is None


@dataclass(frozen=True, slots=True)
class Operation:
    """The one query of a document: its root field, and its variables' defaults and non-null ones."""

    field: FieldNode
    defaults: Mapping[str, Any]
    required: frozenset[str]
    name: str | None


@dataclass(frozen=True, slots=True)
class CompiledDocument:
    """One registered document of the subset: its answer's shape and the arguments its plan needs."""

    sha256: str
    response_key: str  # of the root field, `applicant` or its alias
    shape: Shape
    id_number: Argument
    profile: Argument | None  # `fields`, when the document selects the profile
    materials: Argument | None  # `typeCodes`, when it selects materials
    cases: Argument | None  # `last`, when it selects cases
    operation_name: str | None = None


def compile_applicant(sha256: str, operation: Operation) -> CompiledDocument:
    """Compile a query of `applicant(idNumber:)`, or raise NotCompiled saying why it stays with the resolvers."""
    field = operation.field
    arguments = arguments_of(field, frozenset({"idNumber"}), operation)
    if "idNumber" not in arguments:
        raise NotCompiled("applicant needs idNumber")
    shape, selected = _shape("applicant", APPLICANT, field.selection_set, operation)
    return CompiledDocument(
        sha256=sha256,
        response_key=key_of(field),
        shape=shape,
        id_number=arguments["idNumber"],
        profile=selected.get("profile"),
        materials=selected.get("materials"),
        cases=selected.get("cases"),
        operation_name=operation.name,
    )


def one_query(document: str) -> Operation:
    """The document's one query and its one root field, or NotCompiled."""
    try:
        parsed = parse(document, no_location=True)
    except GraphQLError as error:
        raise NotCompiled(f"not a document: {error.message}") from None
    if len(parsed.definitions) != 1 or not isinstance(parsed.definitions[0], OperationDefinitionNode):
        raise NotCompiled("one operation and no fragments")
    operation = parsed.definitions[0]
    if operation.operation is not OperationType.QUERY or operation.directives:
        raise NotCompiled("a query without directives")
    defaults: dict[str, Any] = {}
    required: set[str] = set()
    for definition in operation.variable_definitions or ():
        if definition.directives:
            raise NotCompiled("a variable with directives")
        name = definition.variable.name.value
        defaults[name] = _literal(definition.default_value) if definition.default_value is not None else None
        if isinstance(definition.type, NonNullTypeNode):
            required.add(name)
    root = fields_of(operation.selection_set)
    if len(root) != 1:
        raise NotCompiled("one root field")
    return Operation(
        root[0], defaults, frozenset(required), operation.name.value if operation.name is not None else None
    )


def key_of(field: FieldNode) -> str:
    """The field's response key: its alias, or its name."""
    return field.alias.value if field.alias is not None else field.name.value


def fields_of(selection_set: SelectionSetNode | None) -> list[FieldNode]:
    if selection_set is None:
        raise NotCompiled("a selection")
    fields: list[FieldNode] = []
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise NotCompiled("fields only: no fragment, no directive")
        fields.append(selection)
    return fields


def _literal(value: ValueNode) -> Any:
    if isinstance(value, StringValueNode):
        return value.value
    if isinstance(value, IntValueNode):
        return int(value.value)
    if isinstance(value, NullValueNode):
        return None
    if isinstance(value, ListValueNode):
        return [_literal(item) for item in value.values]
    raise NotCompiled("arguments are strings, integers, lists of them, null or variables")


def arguments_of(field: FieldNode, allowed: frozenset[str], operation: Operation) -> dict[str, Argument]:
    """The field's arguments by name; NotCompiled if it takes one outside `allowed`."""
    found: dict[str, Argument] = {}
    for argument in field.arguments or ():
        name = argument.name.value
        if name not in allowed:
            raise NotCompiled(f"{field.name.value}({name}:) is outside the subset")
        found[name] = _argument(argument, operation)
    return found


def _argument(argument: ArgumentNode, operation: Operation) -> Argument:
    if isinstance(argument.value, VariableNode):
        name = argument.value.name.value
        return Argument(
            variable=name, default=operation.defaults.get(name), given=True, required=name in operation.required
        )
    return Argument(literal=_literal(argument.value), given=True)


def _shape(
    kind: str, columns: Mapping[str, Any], selection_set: SelectionSetNode | None, operation: Operation
) -> tuple[Shape, dict[str, Argument]]:
    members: list[tuple[str, str, Shape | None]] = []
    keys: set[str] = set()
    nested_seen: set[str] = set()
    selected: dict[str, Argument] = {}
    for field in fields_of(selection_set):
        name, key = field.name.value, key_of(field)
        if key in keys:
            raise NotCompiled(f"{key} asked twice")
        keys.add(key)
        nested = _NESTED.get(kind, {}).get(name)
        if nested is None:
            member = _CAMEL.sub("_", name).lower()
            if member not in columns or field.arguments or field.selection_set is not None:
                raise NotCompiled(f"{kind}.{name} is outside the subset")
            members.append((key, member, None))
            continue
        member, nested_columns, allowed = nested
        if member in nested_seen:
            raise NotCompiled(f"{kind}.{name} asked twice")
        nested_seen.add(member)
        arguments = arguments_of(field, allowed, operation)
        if allowed:
            selected[member] = next(iter(arguments.values()), Argument())
        inner, _ = _shape(member, nested_columns, field.selection_set, operation)
        members.append((key, member, inner))
    return Shape(tuple(members)), selected
