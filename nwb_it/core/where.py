"""``--where EXPR``: which presentations to keep, in a small grammar nwb_it parses itself (nothing is evaluated).

Grammar (keywords in lower case; a column is a name of letters, digits and ``_``)::

    expr    := term ("or" term)*
    term    := factor ("and" factor)*
    factor  := "not" factor | "(" expr ")" | COLUMN [OP value | "in" "(" value ("," value)* ")"]
    OP      := "==" | "!=" | "<" | "<=" | ">" | ">="
    value   := number | 'text' | "text" | true | false

A bare column (``fixation_correct``) must hold booleans. The expression is parsed here
into a tree (:class:`Comparison`, :class:`Membership`, :class:`Flag`, :class:`Not`,
:class:`And`, :class:`Or`); :mod:`nwb_it.nwb.presentations` evaluates it on a table's
columns, where an unknown column or a type mismatch is one line naming the table, the
column and its type. Python's ``eval`` is never involved.

Examples
--------
>>> parse_where("fixation_correct and stimuli_block_index in (0, 2)")
And(parts=(Flag(column='fixation_correct'), Membership(column='stimuli_block_index', values=(0, 2))))
>>> columns_of(parse_where("not (a == 'x' or b >= 1.5)"))
['a', 'b']
>>> parse_where("a ==")
Traceback (most recent call last):
...
nwb_it.core.errors.InvalidParameter: `where='a =='`: a value expected at the end (after '==')
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidParameter

OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_TOKEN = re.compile(r"""\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<text>'[^']*'|"[^"]*")"""
                    r"""|(?P<op>==|!=|<=|>=|<|>)|(?P<punct>[(),])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))""")
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}
MAX_LENGTH = 2000

Value = float | int | str | bool


@dataclass(frozen=True)
class Flag:
    column: str


@dataclass(frozen=True)
class Comparison:
    column: str
    op: str
    value: Value


@dataclass(frozen=True)
class Membership:
    column: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Not:
    part: object


@dataclass(frozen=True)
class And:
    parts: tuple


@dataclass(frozen=True)
class Or:
    parts: tuple


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise InvalidParameter("where", f"`where={text!r}`: cannot read {text[pos:].strip()[:20]!r} (use column "
                                            "names, == != < <= > >=, in (...), and, or, not, parentheses, numbers, "
                                            "'text', true, false)")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "name" and value.lower() in _KEYWORDS:
            kind, value = "keyword", value.lower()
        out.append((kind, value))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text, self.tokens, self.i = text, _tokens(text), 0

    def _fail(self, what: str):
        after = f" (after {self.tokens[self.i - 1][1]!r})" if self.i else ""
        where = "at the end" if self.i >= len(self.tokens) else f"at {self.tokens[self.i][1]!r}"
        raise InvalidParameter("where", f"`where={self.text!r}`: {what} expected {where}{after}")

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, kind: str, value: str | None = None) -> bool:
        tok = self._peek()
        if tok and tok[0] == kind and (value is None or tok[1] == value):
            self.i += 1
            return True
        return False

    def parse(self):
        if not self.tokens:
            raise InvalidParameter("where", "`where`: empty expression")
        node = self._or()
        if self._peek() is not None:
            self._fail("'and', 'or' or the end")
        return node

    def _or(self):
        parts = [self._and()]
        while self._take("keyword", "or"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def _and(self):
        parts = [self._not()]
        while self._take("keyword", "and"):
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def _not(self):
        if self._take("keyword", "not"):
            return Not(self._not())
        if self._take("punct", "("):
            node = self._or()
            if not self._take("punct", ")"):
                self._fail("')'")
            return node
        tok = self._peek()
        if not tok or tok[0] != "name":
            self._fail("a column name")
        self.i += 1
        column = tok[1]
        nxt = self._peek()
        if nxt and nxt[0] == "op":
            self.i += 1
            return Comparison(column, nxt[1], self._value())
        if self._take("keyword", "in"):
            if not self._take("punct", "("):
                self._fail("'('")
            values = [self._value()]
            while self._take("punct", ","):
                values.append(self._value())
            if not self._take("punct", ")"):
                self._fail("')'")
            return Membership(column, tuple(values))
        return Flag(column)

    def _value(self) -> Value:
        tok = self._peek()
        if tok is None:
            self._fail("a value")
        kind, text = tok
        self.i += 1
        if kind == "number":
            number = float(text)
            return int(number) if number.is_integer() and re.fullmatch(r"[-+]?\d+", text) else number
        if kind == "text":
            return text[1:-1]
        if kind == "keyword" and text in ("true", "false"):
            return text == "true"
        self.i -= 1
        self._fail("a value (a number, 'text', true or false)")


def parse_where(text: str):
    """The tree of a ``--where`` expression; :class:`InvalidParameter` (one line) where it does not parse."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        raise InvalidParameter("where", f"`where`: text of at most {MAX_LENGTH} characters")
    return _Parser(text).parse()


def columns_of(node) -> list[str]:
    """The columns an expression reads, in first-use order."""
    out: list[str] = []

    def walk(n) -> None:
        if isinstance(n, (Flag, Comparison, Membership)):
            if n.column not in out:
                out.append(n.column)
        elif isinstance(n, Not):
            walk(n.part)
        else:
            for part in n.parts:
                walk(part)
    walk(node)
    return out
