"""What a document may cost, measured before it is validated or run, and the caches that remember it.

One walk over the parsed document gives its shape: the fields it asks for, its depth and its
aliases. Fragments are measured once each and their shape reused at every spread, so a chain of
fragments that spread the next one twice (`F22 {...F21 ...F21}`, `F21 {...F20 ...F20}`, ...) is
measured in time linear in its length while its cost, 2^22 fields, is counted in full. A field
that pages (`first`, `last`) counts its selection once per item it may return. One response name
asked many times in one selection is refused too, since validation compares such fields in pairs.
Validation, whose rules expand fragments, runs only on documents under the limits.

Parsed documents, their shapes and their validation results share one cache bounded in bytes: an
attacker sending distinct documents replaces entries, it cannot grow the process.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    parse,
    validate,
)
from graphql.language import Visitor, visit
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from hub.errors import HubError, InvalidInput, PayloadTooLarge, QueryTooComplex
from hub.settings import Settings

# NUL and the other C0 controls break PostgreSQL text and log lines; tab, LF and CR are ordinary
# in free text. Lone surrogates cannot be encoded as UTF-8 at all.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
PAGING_ARGUMENTS = ("first", "last")
# Measured with tracemalloc on the hub's own queries (bench/clerk_query.py's and smaller): a parsed
# and validated document keeps about 20 KB plus 200 bytes per byte of source text; rounded up.
MEMORY_PER_SOURCE_BYTE = 256
ENTRY_OVERHEAD_BYTES = 24 * 1024
# What a document costs its caller's budget (hub/access/budgets.py), in the manner of GitHub's
# GraphQL points: one per 100 fields it may return (at least one), and one per KiB of the document,
# since parsing and validating the largest documents costs more than running many queries' fields.
FIELDS_PER_POINT = 100
BYTES_PER_POINT = 1024


def cost_points(fields: int, size_bytes: int) -> int:
    return max(1, -(-fields // FIELDS_PER_POINT)) + size_bytes // BYTES_PER_POINT


@dataclass(frozen=True, slots=True)
class Shape:
    """What a selection costs: fields (paged lists counted per item), nesting depth and aliases."""

    fields: int = 0
    depth: int = 0
    aliases: int = 0

    def __add__(self, other: Shape) -> Shape:
        return Shape(self.fields + other.fields, max(self.depth, other.depth), self.aliases + other.aliases)


@dataclass(frozen=True, slots=True)
class Limits:
    max_fields: int
    max_depth: int
    max_aliases: int
    max_repeats: int
    max_tokens: int
    max_bytes: int
    page_size: int
    # Field name -> items a paged field returns when the query does not say (its `first` default).
    paged_fields: Mapping[str, int]

    @classmethod
    def of(cls, settings: Settings, schema: GraphQLSchema) -> Limits:
        return cls(
            max_fields=settings.max_query_fields,
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_repeats=settings.max_query_field_repeats,
            max_tokens=settings.max_query_tokens,
            max_bytes=settings.max_query_bytes,
            page_size=settings.max_page_size,
            paged_fields=paged_fields(schema),
        )


def paged_fields(schema: GraphQLSchema) -> dict[str, int]:
    """Every field that takes `first` or `last`, with the page it returns by default."""
    pages: dict[str, int] = {}
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for name, definition in named.fields.items():
            for argument in PAGING_ARGUMENTS:
                if argument in definition.args:
                    default = definition.args[argument].default_value
                    pages[name] = max(pages.get(name, 0), default if isinstance(default, int) else 1)
    return pages


class _Measure:
    """One walk over a document; each fragment measured once, without recursion across fragments."""

    def __init__(self, document: DocumentNode, limits: Limits) -> None:
        self.limits = limits
        self.fragments = {
            node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
        }
        self.shapes: dict[str, Shape] = {}

    def operations(self, document: DocumentNode) -> Shape:
        """The costliest operation of the document (whichever the request names, it costs no more)."""
        self._measure_fragments()
        worst = Shape()
        for node in document.definitions:
            if isinstance(node, OperationDefinitionNode):
                shape = self._selection(node.selection_set, 0)
                worst = Shape(
                    max(worst.fields, shape.fields), max(worst.depth, shape.depth), max(worst.aliases, shape.aliases)
                )
        return worst

    def _measure_fragments(self) -> None:
        """Fragments in dependency order, with an explicit stack: a long chain cannot overflow Python's."""
        for root in self.fragments:
            stack, on_stack = [root], {root}
            while stack:
                name = stack[-1]
                if name in self.shapes:
                    stack.pop()
                    continue
                pending = next(
                    (
                        spread
                        for spread in _spreads(self.fragments[name].selection_set)
                        if spread in self.fragments and spread not in self.shapes and spread not in on_stack
                    ),
                    None,
                )
                if pending is not None:
                    stack.append(pending)
                    on_stack.add(pending)
                    continue
                # A spread back into the stack is a cycle: counted as nothing here, refused by validation.
                self.shapes[name] = self._selection(self.fragments[name].selection_set, 0)
                stack.pop()
                on_stack.discard(name)

    def _selection(self, selection_set: SelectionSetNode, level: int) -> Shape:
        if level >= self.limits.max_depth:
            # Deeper than allowed within one definition: deeper still wherever it is used.
            raise _too_deep(self.limits.max_depth)
        self._refuse_repeats(selection_set)
        total = Shape()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total = total + self._field(selection, level)
            elif isinstance(selection, FragmentSpreadNode):
                total = total + self.shapes.get(selection.name.value, Shape())
            elif isinstance(selection, InlineFragmentNode):
                total = total + self._selection(selection.selection_set, level)
        return total

    def _refuse_repeats(self, selection_set: SelectionSetNode) -> None:
        """The same response name asked many times in one selection (inline fragments merged in).

        Validation checks every pair of such fields for conflicts (OverlappingFieldsCanBeMerged),
        quadratic in their number: 300 `viewer { name }` in 1.5 KB took half a second to validate."""
        names: Counter[str] = Counter()
        stack = [selection_set]
        while stack:
            for selection in stack.pop().selections:
                if isinstance(selection, FieldNode):
                    names[(selection.alias or selection.name).value] += 1
                elif isinstance(selection, InlineFragmentNode):
                    stack.append(selection.selection_set)
        repeated = max(names.values(), default=0)
        if repeated > self.limits.max_repeats:
            raise QueryTooComplex(
                f"a field is asked {repeated} times in one selection; the limit is {self.limits.max_repeats}",
                limit=self.limits.max_repeats,
                repeats=repeated,
            )

    def _field(self, node: FieldNode, level: int) -> Shape:
        inner = self._selection(node.selection_set, level + 1) if node.selection_set else Shape()
        items = self._items(node)
        return Shape(1 + items * inner.fields, 1 + inner.depth, (1 if node.alias else 0) + inner.aliases)

    def _items(self, node: FieldNode) -> int:
        default = self.limits.paged_fields.get(node.name.value)
        if default is None:
            return 1
        for argument in node.arguments or ():
            if argument.name.value in PAGING_ARGUMENTS:
                value = argument.value
                if isinstance(value, IntValueNode) and len(value.value) <= 9:
                    return max(1, min(int(value.value), self.limits.page_size))
                return self.limits.page_size  # a variable: the largest page it may ask for
        return default


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif isinstance(selection, (FieldNode, InlineFragmentNode)) and selection.selection_set is not None:
                stack.append(selection.selection_set)


def _too_deep(limit: int) -> QueryTooComplex:
    return QueryTooComplex(f"the query is deeper than the limit of {limit}", limit=limit)


def measure(document: DocumentNode, limits: Limits) -> Shape:
    """The document's shape; QueryTooComplex as soon as one definition is deeper than the limit."""
    return _Measure(document, limits).operations(document)


def check_shape(shape: Shape, limits: Limits) -> None:
    if shape.depth > limits.max_depth:
        raise _too_deep(limits.max_depth)
    if shape.aliases > limits.max_aliases:
        raise QueryTooComplex(
            f"the query has {shape.aliases} aliases; the limit is {limits.max_aliases}",
            limit=limits.max_aliases,
            aliases=shape.aliases,
        )
    if shape.fields > limits.max_fields:
        raise QueryTooComplex(
            f"the query asks for {shape.fields} fields; the limit is {limits.max_fields}",
            limit=limits.max_fields,
            fields=shape.fields,
        )


class _LiteralStrings(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.refused = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if CONTROL_CHARACTERS.search(node.value):
            self.refused = True
            return self.BREAK
        return None


def refuse_control_characters_in_literals(document: DocumentNode) -> None:
    visitor = _LiteralStrings()
    visit(document, visitor)  # graphql-core's visit keeps its own stack: no recursion limit to reach
    if visitor.refused:
        raise _control_characters()


def refuse_control_characters(variables: object) -> None:
    """Walk the variables (and their keys) without recursion: JSON may nest as deep as it parsed."""
    stack = [variables]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if CONTROL_CHARACTERS.search(value):
                raise _control_characters()
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _control_characters() -> InvalidInput:
    return InvalidInput("a string holds a control character (only tab, line feed and carriage return are allowed)")


@dataclass(slots=True)
class Prepared:
    """A document as parsed, with what the edge decided about it and, once run, its validation."""

    document: DocumentNode | None
    refusal: HubError | None
    cost_bytes: int
    # What running it costs the caller's budget (cost_points).
    points: int = 1
    validation_errors: list[GraphQLError] | None = field(default=None)


class PreparedDocuments:
    """Parse once, measure once, validate once per distinct document, within a budget of bytes.

    Least recently used entries go first. An entry is charged for its source times the measured
    memory a parsed document takes per source byte, so a few large documents and many small ones
    are bounded alike (the limit by count it replaces let 128 of the largest documents stay).
    """

    def __init__(self, limits: Limits, budget_bytes: int, *, suggestions: bool) -> None:
        self.limits = limits
        self.budget_bytes = budget_bytes
        self.suggestions = suggestions
        self.used_bytes = 0
        self.hits = 0
        self.misses = 0
        self.validations = 0
        self._entries: OrderedDict[str, Prepared] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def prepare(self, query: str) -> Prepared:
        entry = self._entries.get(query)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(query)
            return entry
        self.misses += 1
        entry = self._prepare(query)
        self._keep(query, entry)
        return entry

    def _prepare(self, query: str) -> Prepared:
        size = len(query.encode("utf-8", "surrogatepass"))
        cost = ENTRY_OVERHEAD_BYTES + size * MEMORY_PER_SOURCE_BYTE
        if size > self.limits.max_bytes:
            refusal = PayloadTooLarge(
                f"the document is {size} bytes; the limit is {self.limits.max_bytes}",
                field="query",
                limit=self.limits.max_bytes,
            )
            return Prepared(None, refusal, ENTRY_OVERHEAD_BYTES)
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError:
            # Strawberry parses it again with the same token limit and answers the syntax error.
            return Prepared(None, None, cost, cost_points(0, size))
        try:
            refuse_control_characters_in_literals(document)
            shape = measure(document, self.limits)
            check_shape(shape, self.limits)
        except (QueryTooComplex, InvalidInput) as refusal:
            return Prepared(None, refusal, ENTRY_OVERHEAD_BYTES)
        return Prepared(document, None, cost, cost_points(shape.fields, size))

    def _keep(self, query: str, entry: Prepared) -> None:
        charge = entry.cost_bytes + len(query)
        if charge > self.budget_bytes:
            return
        self._entries[query] = entry
        self.used_bytes += charge
        while self.used_bytes > self.budget_bytes:
            evicted_query, evicted = self._entries.popitem(last=False)
            self.used_bytes -= evicted.cost_bytes + len(evicted_query)

    def cached(self, query: str) -> Prepared | None:
        return self._entries.get(query)


class CachedParse(SchemaExtension):
    """Strawberry's parse step served from the schema's PreparedDocuments (the edge parsed it)."""

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        documents: PreparedDocuments = execution.schema.documents  # type: ignore[attr-defined]
        entry = documents.cached(execution.query or "")
        if entry is not None and entry.document is not None:
            execution.graphql_document = entry.document
        else:
            execution.parse_options = {**execution.parse_options, "max_tokens": documents.limits.max_tokens}
        yield


class CachedValidation(SchemaExtension):
    """Validation once per distinct document, without suggestions outside the demo.

    Strawberry's ValidationCache counts entries and cannot hide "Did you mean ...?"; this one
    keeps the errors in the document's cache entry, so the byte budget bounds them too."""

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        documents: PreparedDocuments = execution.schema.documents  # type: ignore[attr-defined]
        entry = documents.cached(execution.query or "")
        if entry is not None and entry.validation_errors is not None:
            execution.pre_execution_errors = entry.validation_errors
        elif execution.graphql_document is not None:
            documents.validations += 1
            rules = (*execution.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
            errors = validate(
                execution.schema._schema,  # noqa: SLF001  (strawberry keeps the graphql-core schema there)
                execution.graphql_document,
                rules,
                hide_suggestions=not documents.suggestions,
            )
            execution.pre_execution_errors = errors
            if entry is not None:
                entry.validation_errors = errors
        yield
