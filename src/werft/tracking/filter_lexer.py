"""The lexical side of the run search filter language: text to tokens and back.

:class:`Lexer` cuts filter text into tokens one at a time (names, quoted strings,
numbers, operators, punctuation), unescaping quoted strings and keys on the way;
:func:`render_key` and :func:`render_scalar` write keys and values so that the
lexer reads them back unchanged. The grammar and its type rules live in
:mod:`werft.tracking.filter`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from werft.errors import InvalidInputError

_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "ASC", "DESC"})
# The operators written as symbols (the parser maps each to its canonical spelling),
# longest first, so "<=" is not read as "<" followed by "=".
_SYMBOLS = ("==", "!=", "<>", "<=", ">=", "=", "<", ">")

_WORD = re.compile(r"[^\W\d]\w*")
_KEY = re.compile(r"[\w\-./:]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_TAIL = re.compile(r"[\w.]")  # "1abc" or "1.2.3" is a typo, not two tokens
NONFINITE = re.compile(r"[+-]?(?:nan|inf(?:inity)?)(?!\w)", re.IGNORECASE)

_Kind = Literal["name", "string", "number", "op", "(", ")", ",", "end"]
_PUNCT: dict[str, _Kind] = {"(": "(", ")": ")", ",": ","}


@dataclass(frozen=True)
class Token:
    """One token and where it starts in the text."""

    kind: _Kind
    text: str  # the exact source slice
    pos: int
    value: str = ""  # names: the key or word; strings: the unescaped content
    prefix: str | None = None  # names written PREFIX.KEY
    kw: str | None = None  # upper-cased keyword, for a bare unquoted keyword

    @property
    def end(self) -> int:
        return self.pos + len(self.text)

    def describe(self) -> str:
        if self.kind == "end":
            return "end of input"
        text = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        return f"the string {text}" if self.kind == "string" else f"'{text}'"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def _format_error(what: str, text: str, pos: int, message: str) -> str:
    # Non-printing characters (newlines, tabs) would break the three-line layout
    # and shift the caret, so they are shown as spaces.
    shown, message = _printable(text), _printable(message)
    caret = pos
    if len(shown) > 80:
        start = max(0, min(pos - 40, len(shown) - 80))
        end = start + 80
        lead = "..." if start else ""
        shown = lead + shown[start:end] + ("..." if end < len(text) else "")
        caret = pos - start + len(lead)
    return f"{what} at character {pos + 1}: {message}\n  {shown}\n  {' ' * caret}^"


class Lexer:
    """Cuts ``text`` into tokens on demand; errors name ``what`` and point at a character."""

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.i = 0

    def error(self, pos: int, message: str) -> InvalidInputError:
        """The error to raise for a problem at ``pos``, showing the text with a caret."""
        return InvalidInputError(_format_error(self.what, self.text, pos, message))

    def _lex(self) -> Token:
        text, i = self.text, self.i
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            tok = Token("end", "", len(text))
        elif text[i] in "'\"":
            tok = self._lex_string(i)
        elif text[i] == "`":
            value, end = self._lex_backtick(i)
            tok = Token("name", text[i:end], i, value)
        elif text[i] in _PUNCT:
            tok = Token(_PUNCT[text[i]], text[i], i)
        elif m := _NUMBER.match(text, i):
            if _NUMBER_TAIL.match(text, m.end()):
                raise self.error(i, "malformed number")
            tok = Token("number", m.group(), i)
        elif m := NONFINITE.match(text, i):
            tok = Token("number", m.group(), i)
        elif m := _WORD.match(text, i):
            tok = self._lex_name(m)
        elif op := next((o for o in _SYMBOLS if text.startswith(o, i)), None):
            tok = Token("op", op, i)
        else:
            raise self.error(i, f"unexpected character {text[i]!r}")
        self.i = tok.end
        return tok

    def _lex_string(self, start: int) -> Token:
        text, quote, i, out = self.text, self.text[start], start + 1, []
        while i < len(text):
            if text[i] == "\\" and text[i + 1 : i + 2] in ("\\", "'", '"'):
                out.append(text[i + 1])
                i += 2
            elif text[i] == quote and text[i + 1 : i + 2] == quote:
                out.append(quote)
                i += 2
            elif text[i] == quote:
                return Token("string", text[start : i + 1], start, "".join(out))
            else:
                out.append(text[i])
                i += 1
        raise self.error(start, f"unterminated string: no closing {quote}")

    def _lex_backtick(self, start: int) -> tuple[str, int]:
        end = self.text.find("`", start + 1)
        if end < 0:
            raise self.error(start, "unterminated `quoted key`: no closing backtick")
        return self.text[start + 1 : end], end + 1

    def _lex_name(self, m: re.Match[str]) -> Token:
        word, start, end = m.group(), m.start(), m.end()
        if self.text[end : end + 1] != ".":
            upper = word.upper()
            kw = upper if word.isascii() and upper in _KEYWORDS else None
            return Token("name", word, start, word, kw=kw)
        if self.text[end + 1 : end + 2] == "`":
            key, stop = self._lex_backtick(end + 1)
        elif km := _KEY.match(self.text, end + 1):
            key, stop = km.group(), km.end()
        else:
            raise self.error(end + 1, f"expected a key after '{word}.'")
        return Token("name", self.text[start:stop], start, key, prefix=word)


def render_key(key: str) -> str:
    """A key as a filter writes it: bare if the lexer reads it so, else in backticks."""
    if not key or "`" in key:
        raise ValueError(f"key {key!r} cannot be written in a filter")
    return key if _KEY.fullmatch(key) else f"`{key}`"


def render_scalar(value: str | float | datetime) -> str:
    """A value as a filter literal: a quoted, escaped string or a number."""
    if isinstance(value, datetime):
        value = value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    return repr(value)
