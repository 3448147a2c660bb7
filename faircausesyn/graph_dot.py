"""A small, dependency-free reader and writer for the Graphviz DOT subset of causal graphs.

Reads ``[strict] digraph [name] { ... }`` with node statements (``a;``,
``"a b" [label=...];``), edge chains (``a -> b -> c;``), edge groups
(``a -> {b c};``), subgraphs (flattened), attribute statements (``node [...]``,
``rankdir=LR``, ignored), and ``//``, ``/* */`` and ``#`` comments (``#`` anywhere outside a string). Everything
that cannot be read is reported with its line, all at once.
"""

from __future__ import annotations

import re

from .errors import GraphError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<html><[^<>]*(?:<[^<>]*>[^<>]*)*>)
  | (?P<arrow>->)
  | (?P<undirected>--)
  | (?P<number>-?(?:\.\d+|\d+(?:\.\d*)?))
  | (?P<id>[A-Za-z_\x80-\U0010ffff][A-Za-z_0-9\x80-\U0010ffff]*)
  | (?P<punct>[{}\[\];,=:])
    """,
    re.VERBOSE | re.DOTALL | re.MULTILINE,
)
_KEYWORDS = {"strict", "graph", "digraph", "node", "edge", "subgraph"}
_BARE = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")


def quote(name: str) -> str:
    """A DOT identifier for ``name``: always double-quoted, with quotes and backslashes escaped."""
    return '"' + str(name).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos, line = 0, 1
    problems: list[str] = []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            problems.append(f"line {line}: unexpected character {text[pos]!r}")
            pos += 1
            continue
        kind, value = m.lastgroup or "", m.group()
        if kind == "string":
            value = re.sub(r"\\(.)", lambda g: "\n" if g.group(1) == "n" else g.group(1), value[1:-1])
            kind = "id"
        elif kind == "number":
            kind = "id"
        elif kind == "html":
            kind = "id"
            value = value[1:-1]
        if kind not in ("ws", "comment"):
            if kind == "id" and m.group().lower() in _KEYWORDS and not m.group().startswith('"'):
                kind, value = "kw", m.group().lower()
            out.append((kind, value, line))
        line += m.group().count("\n")
        pos = m.end()
    if problems:
        raise GraphError(problems[:20], hint="write the graph as digraph { a -> b; }")
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.t = tokens
        self.i = 0
        self.nodes: list[str] = []
        self.seen: set[str] = set()
        self.edges: list[tuple[str, str]] = []
        self.problems: list[str] = []

    # -- helpers
    def peek(self, k: int = 0) -> tuple[str, str, int]:
        j = self.i + k
        return self.t[j] if j < len(self.t) else ("eof", "", self.t[-1][2] if self.t else 1)

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, value: str) -> bool:
        kind, v, line = self.peek()
        if v == value and kind in ("punct", "kw"):
            self.i += 1
            return True
        self.problems.append(f"line {line}: expected {value!r}, found {v or 'end of text'!r}")
        return False

    def add_node(self, n: str) -> None:
        if n not in self.seen:
            self.seen.add(n)
            self.nodes.append(n)

    # -- grammar
    def parse(self) -> None:
        if self.peek()[1] == "strict":
            self.take()
        kind, v, line = self.take()
        if v == "graph":
            self.problems.append(f"line {line}: an undirected 'graph'; a causal graph must be a 'digraph'")
        elif v != "digraph":
            self.problems.append(f"line {line}: expected 'digraph', found {v or 'end of text'!r}")
            return
        if self.peek()[0] == "id":
            self.take()
        if not self.expect("{"):
            return
        self.stmt_list()
        self.expect("}")
        if self.peek()[0] != "eof":
            self.problems.append(f"line {self.peek()[2]}: text after the closing '}}' ({self.peek()[1]!r})")

    def stmt_list(self) -> None:
        while True:
            kind, v, line = self.peek()
            if kind == "eof" or (kind == "punct" and v == "}"):
                return
            if kind == "punct" and v in ";,":
                self.take()
                continue
            before = self.i
            self.stmt()
            if self.i == before:  # no progress: skip the token to avoid looping
                self.problems.append(f"line {line}: unexpected {v!r}")
                self.take()

    def attr_list(self) -> None:
        while self.peek()[1] == "[" and self.peek()[0] == "punct":
            self.take()
            while not (self.peek()[0] == "punct" and self.peek()[1] == "]"):
                if self.peek()[0] == "eof":
                    self.problems.append(f"line {self.peek()[2]}: unclosed attribute list")
                    return
                self.take()
            self.take()

    def operand(self) -> list[str] | None:
        """A node id (with optional port) or a subgraph/group; returns the node names."""
        kind, v, line = self.peek()
        if kind == "kw" and v == "subgraph" or (kind == "punct" and v == "{"):
            if v == "subgraph":
                self.take()
                if self.peek()[0] == "id":
                    self.take()
            if not self.expect("{"):
                return []
            inner = _Parser(self.t)
            inner.i, inner.nodes, inner.seen, inner.edges, inner.problems = self.i, [], set(), self.edges, self.problems
            inner.stmt_list()
            self.i = inner.i
            self.expect("}")
            for n in inner.nodes:
                self.add_node(n)
            return inner.nodes
        if kind == "id":
            self.take()
            while self.peek()[1] == ":" and self.peek()[0] == "punct":  # port
                self.take()
                if self.peek()[0] == "id":
                    self.take()
            return [v]
        return None

    def stmt(self) -> None:
        kind, v, line = self.peek()
        if kind == "kw" and v in ("graph", "node", "edge"):
            self.take()
            self.attr_list()
            return
        if kind == "id" and self.peek(1)[1] == "=" and self.peek(1)[0] == "punct":
            self.take(), self.take(), self.take()  # a = b (graph attribute)
            return
        group = self.operand()
        if group is None:
            return
        chain = [group]
        while self.peek()[0] in ("arrow", "undirected"):
            op = self.take()
            if op[0] == "undirected":
                self.problems.append(f"line {op[2]}: undirected edge '--'; use '->'")
            nxt = self.operand()
            if nxt is None:
                self.problems.append(f"line {op[2]}: an edge without a target")
                break
            chain.append(nxt)
        for g in chain:
            for n in g:
                self.add_node(n)
        for a_group, b_group in zip(chain[:-1], chain[1:], strict=True):
            self.edges += [(a, b) for a in a_group for b in b_group]
        self.attr_list()


def parse_dot(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """``(nodes, edges)`` of a DOT ``digraph``; raises :class:`GraphError` listing every problem."""
    tokens = _tokens(text)
    if not tokens:
        raise GraphError(["the DOT text is empty"], hint="write the graph as digraph { a -> b; }")
    p = _Parser(tokens)
    p.parse()
    if p.problems:
        raise GraphError(p.problems, hint="write the graph as digraph { a -> b; }")
    return p.nodes, list(dict.fromkeys(p.edges))
