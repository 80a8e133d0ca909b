"""A copy made to look like someone else's work: every name the program defines is
renamed and the functions, classes and methods are put in another order.

This is what a student who copies a classmate does to hide it; the similarity report
must still rank such a copy first. ``ast.unparse`` also drops every comment and redoes
the layout, as a reformatting tool would.
"""

from __future__ import annotations

import ast
import builtins
import hashlib

_KEEP = set(dir(builtins)) | {"self", "cls", "__name__", "__main__", "__init__"}


def _new_name(old: str) -> str:
    digest = hashlib.sha256(old.encode()).hexdigest()[:6]
    return f"{'x' if old[:1].islower() else 'X'}{digest}"


class _Defined(ast.NodeVisitor):
    """Names the program itself introduces (not imported modules or their members)."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.imported: set[str] = set()

    def visit_Import(self, node: ast.Import) -> None:
        self.imported |= {(a.asname or a.name).split(".")[0] for a in node.names}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.imported |= {a.asname or a.name for a in node.names}

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if not node.name.startswith("__"):
            self.names.add(node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.names.add(node.name)
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        self.names.add(node.arg)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.names.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Store) and not node.attr.startswith("__"):
            self.names.add(node.attr)
        self.generic_visit(node)


class _Rename(ast.NodeTransformer):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def _n(self, name: str) -> str:
        return _new_name(name) if name in self.names else name

    def visit_FunctionDef(self, node):  # noqa: ANN001, ANN201
        node.name = self._n(node.name)
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):  # noqa: ANN001, ANN201
        node.name = self._n(node.name)
        return self.generic_visit(node)

    def visit_arg(self, node):  # noqa: ANN001, ANN201
        node.arg = self._n(node.arg)
        return node

    def visit_keyword(self, node):  # noqa: ANN001, ANN201
        if node.arg:
            node.arg = self._n(node.arg)
        return self.generic_visit(node)

    def visit_Name(self, node):  # noqa: ANN001, ANN201
        node.id = self._n(node.id)
        return node

    def visit_Attribute(self, node):  # noqa: ANN001, ANN201
        node.attr = self._n(node.attr)
        return self.generic_visit(node)


def _reorder(body: list[ast.stmt]) -> list[ast.stmt]:
    """The definitions in ``body`` in reverse order, other statements where they were."""
    slots = [i for i, s in enumerate(body) if isinstance(s, ast.FunctionDef | ast.ClassDef
                                                          | ast.AsyncFunctionDef)]
    defs = [body[i] for i in slots][::-1]
    out = list(body)
    for i, d in zip(slots, defs, strict=True):
        out[i] = d
    for d in defs:
        if isinstance(d, ast.ClassDef):
            d.body = _reorder(d.body)
    return out


def disguise(files: dict[str, str]) -> dict[str, str]:
    """``files`` (name -> Python source) renamed and reordered, together (a name defined
    in one file and used in another is renamed alike everywhere)."""
    trees = {name: ast.parse(text) for name, text in files.items()}
    found = _Defined()
    for tree in trees.values():
        found.visit(tree)
    names = found.names - found.imported - _KEEP
    out = {}
    for name, tree in trees.items():
        tree = _Rename(names).visit(tree)
        tree.body = _reorder(tree.body)
        out[name] = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    return out
