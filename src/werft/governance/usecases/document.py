"""Reading ``werft.yaml``: errors name the field, the line and column, and what was expected.

The file is composed into YAML nodes first (they carry their position),
then constructed and validated with pydantic; each validation error's
location (``use_case.acceptance[1].op``) is walked down the node tree to the
value it is about, so the message reads
``werft.yaml:11:32: use_case.acceptance[1].op: expected one of >=, >, <=, <, ==; got '=>'``.
"""

from __future__ import annotations

import hashlib
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from werft.errors import InvalidInputError, NotFoundError
from werft.governance.usecases.spec import UseCase, UseCaseFile
from werft.pipelines.spec import TrainingSpec

DEFAULT_FILE = "werft.yaml"

Location = tuple[int | str, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a use case file, and where.

    Attributes:
        file: The file's name as given.
        line: 1-based line.
        column: 1-based column.
        path: The field, e.g. ``use_case.acceptance[1].op`` (empty for syntax errors).
        message: What was expected and what was found.
    """

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class UseCaseInvalid(InvalidInputError):  # noqa: N818 - named after the file it describes
    """A use case file that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class LoadedUseCase:
    """A validated use case, its training section, and the SHA-256 of the file."""

    use_case: UseCase
    digest: str
    path: Path
    training: TrainingSpec | None = None


def file_digest(content: bytes) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    return f"sha256:{hashlib.sha256(content).hexdigest()}"


def load_use_case(path: str | Path = DEFAULT_FILE) -> LoadedUseCase:
    """Read and validate a ``werft.yaml``.

    Raises:
        NotFoundError: The file does not exist.
        UseCaseInvalid: The file is not valid YAML or not a valid use case.
    """
    file = Path(path)
    try:
        content = file.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(
            f"no use case file at {file}; `werft init` writes one, or pass its path"
        ) from None
    except (IsADirectoryError, PermissionError) as exc:
        raise InvalidInputError(f"cannot read {file}: {exc.strerror}") from exc
    parsed = parse_file(content, filename=str(path))
    return LoadedUseCase(
        use_case=parsed.use_case,
        digest=file_digest(content),
        path=file,
        training=parsed.training,
    )


def parse_use_case(content: str | bytes, *, filename: str = DEFAULT_FILE) -> UseCase:
    """Validate the text of a ``werft.yaml``; its use case.

    Raises:
        UseCaseInvalid: With every problem found, each with its line and column.
    """
    return parse_file(content, filename=filename).use_case


def parse_file(content: str | bytes, *, filename: str = DEFAULT_FILE) -> UseCaseFile:
    """Validate the text of a ``werft.yaml``: the use case and the training section.

    Raises:
        UseCaseInvalid: With every problem found, each with its line and column.
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = Problem(filename, 1, 1, "", f"not UTF-8 text ({exc.reason})")
            raise UseCaseInvalid([problem]) from None
    root, data = _compose(content, filename)
    problems = _duplicate_keys(root, filename)
    if problems:
        raise UseCaseInvalid(problems)
    if data is None:
        message = "the file is empty; expected a 'use_case:' section (`werft init` writes one)"
        raise UseCaseInvalid([Problem(filename, 1, 1, "", message)])
    try:
        return UseCaseFile.model_validate(data)
    except ValidationError as exc:
        found = [_problem(error, root, filename) for error in exc.errors()]
        found.sort(key=lambda p: (p.line, p.column))
        raise UseCaseInvalid(found) from None


def _compose(text: str, filename: str) -> tuple[Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise UseCaseInvalid(
            [Problem(filename, line, column, "", f"invalid YAML: {what}")]
        ) from None
    except yaml.YAMLError as exc:
        raise UseCaseInvalid([Problem(filename, 1, 1, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return root, data


def _duplicate_keys(node: Node | None, filename: str) -> list[Problem]:
    """PyYAML keeps the last of two equal keys silently; a use case file must not have any."""
    problems: list[Problem] = []
    if isinstance(node, MappingNode):
        seen: dict[str, Node] = {}
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                if key.value in seen:
                    first = seen[key.value].start_mark.line + 1
                    mark = key.start_mark
                    problems.append(
                        Problem(
                            filename,
                            mark.line + 1,
                            mark.column + 1,
                            "",
                            f"key {key.value!r} appears twice (first on line {first}); keep one",
                        )
                    )
                seen.setdefault(key.value, key)
            problems.extend(_duplicate_keys(value, filename))
    elif isinstance(node, SequenceNode):
        for item in node.value:
            problems.extend(_duplicate_keys(item, filename))
    return problems


def _problem(error: ErrorDetails, root: Node | None, filename: str) -> Problem:
    loc: Location = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    if isinstance(ctx.get("field"), str):  # a model-level rule about one field
        loc = (*loc, ctx["field"])
    node = _locate(root, loc, key=error["type"] == "extra_forbidden")
    mark = node.start_mark if node is not None else None
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(filename, line, column, _path(loc), _message(error, loc))


def _locate(root: Node | None, loc: Location, *, key: bool) -> Node | None:
    """The node a location points at; its nearest existing ancestor when it is missing.

    With ``key``, the key node of the last step (an unknown field is its key).
    """
    node = root
    steps = [step for step in loc if step != "[key]"]
    key = key or len(steps) != len(loc)  # a dict key that failed: point at the key
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        if isinstance(node, MappingNode):
            pair = next(
                (
                    pair
                    for pair in node.value
                    if isinstance(pair[0], ScalarNode) and pair[0].value == str(step)
                ),
                None,
            )
            if pair is None:
                return node
            node = pair[0] if key and last else pair[1]
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return node
    return node


def _path(loc: Location) -> str:
    text = ""
    for step in loc:
        if step == "[key]":
            continue
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _message(error: ErrorDetails, loc: Location) -> str:
    kind, ctx, got = error["type"], error.get("ctx") or {}, _shown(error.get("input"))
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        listed = f"; expected one of {', '.join(allowed)}" if allowed else ""
        return f"unknown field{listed}"
    if kind in ("literal_error", "enum"):
        choices = re.findall(r"'((?:[^'\\]|\\.)*)'", str(ctx.get("expected", "")))
        return f"expected one of {', '.join(choices)}; got {got}"
    expected = _EXPECTED.get(kind)
    if expected is not None:
        return f"expected {expected}; got {got}"
    for bound, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if bound in ctx:
            return f"expected a number {sign} {ctx[bound]}; got {got}"
    if kind == "string_too_short":
        return "expected non-empty text"
    if kind == "string_too_long":
        return f"expected at most {ctx.get('max_length')} characters"
    if kind in ("invalid_value", "finite_number", "duplicate_approver", "approvers_required"):
        return error["msg"]
    return f"{error['msg']}; got {got}"


_EXPECTED = {
    "float_parsing": "a number",
    "float_type": "a number",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text (quote it if it looks like a number or true/false)",
    "list_type": "a list, e.g. [a, b] or lines starting with '- '",
    "dict_type": "a mapping of names to values",
    "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields",
}


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)


def _fields_at(loc: Location) -> list[str]:
    """The field names allowed at a location of the file (for 'unknown field' hints)."""
    model: Any = UseCaseFile
    for step in loc:
        if isinstance(step, int):
            continue  # list items: the annotation was unwrapped already
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(step))
        if field is None:
            return []
        model = _item_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _item_model(annotation: Any) -> Any:
    """The model class inside ``X``, ``list[X]``, ``dict[K, X]`` or ``X | None``."""
    origin = get_origin(annotation)
    if origin is list:
        return _item_model(get_args(annotation)[0])
    if origin is dict:
        return _item_model(get_args(annotation)[1])
    if origin in (Union, types.UnionType):
        models = [
            a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        return models[0] if models else None
    return annotation
