"""Griffe extension for the docs site: Sphinx roles and grouped arguments.

lmam's docstrings cross-reference with Sphinx roles (``:class:`~lmam.nn.LMAM```,
``:func:`paired_ttest```, ``:mod:`.data```), which Markdown would show as
literal text. This extension, loaded by mkdocstrings (``extensions:`` in
``mkdocs.yml``), rewrites each role into an *optional* autorefs link before
the docstring is parsed: the target is resolved the way Sphinx does (relative
to the object, then its parents, then as written), shown as code (``~`` keeps
the last component only), and linked when the target is rendered somewhere on
the site. An unresolved optional link is plain code, never a build warning.

It also splits grouped entries of an ``Args:`` section (``in_dims, out_dim: as
every fusion.``), which griffe's Google parser would read as one parameter
named ``"in_dims, out_dim"`` (and warn about under ``mkdocs build --strict``),
into one entry per name with the same description, and drops the ``::`` that
introduces a reST literal block (the indented block is already Markdown code).

It changes only the rendered site, never the source files. Not shipped with
the package (``exclude_docs`` keeps it out of the built site).
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`([^`]+)`")
TITLED = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")
SECTION = re.compile(
    r"^(?P<indent>\s*)(?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments"
    r"|Other Parameters|Other Params):\s*$"
)
GROUPED = re.compile(
    r"^(?P<indent>\s*)(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)+)\s*:(?P<rest>.*)$"
)


def literal_blocks(text: str) -> str:
    """``text::`` before an indented block becomes ``text:`` (a lone ``::`` goes)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.rstrip().endswith("::"):
            continue
        following = [nxt for nxt in lines[i + 1 :] if nxt.strip()]
        if not following or _indent(following[0]) <= _indent(line):
            continue
        stripped = line.rstrip()[:-2]
        lines[i] = stripped + ":" if stripped and not stripped[-1].isspace() else stripped.rstrip()
    return "\n".join(lines)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def split_grouped_args(text: str) -> str:
    """``a, b: text`` in an arguments section becomes ``a: text`` and ``b: text``."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    section: int | None = None  # indentation of the current arguments section's title
    while i < len(lines):
        line = lines[i]
        title = SECTION.match(line)
        if title:
            section = len(title.group("indent"))
            out.append(line)
            i += 1
            continue
        if section is not None and line.strip() and _indent(line) <= section:
            section = None
        grouped = GROUPED.match(line) if section is not None else None
        if grouped is None:
            out.append(line)
            i += 1
            continue
        indent = grouped.group("indent")
        body = [grouped.group("rest")]
        i += 1
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > len(indent)):
            body.append(lines[i])
            i += 1
        while len(body) > 1 and not body[-1].strip():  # blank lines stay after the group
            body.pop()
            i -= 1
        for name in re.split(r"\s*,\s*", grouped.group("names")):
            out.append(f"{indent}{name}:{body[0]}")
            out.extend(body[1:])
    return "\n".join(out)


def _exists(root: griffe.Module, path: str) -> bool:
    """Whether ``path`` (dotted, starting at the package's name) names an object."""
    parts = path.split(".")
    if parts[0] != root.name:
        return False
    obj: Any = root
    try:
        for part in parts[1:]:
            obj = obj.members[part]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def _resolve(root: griffe.Module, owner: griffe.Object, target: str) -> str:
    """Sphinx's lookup: relative to ``owner`` and its parents, then as written."""
    relative = target.startswith(".")
    name = target.lstrip(".")
    scope: Any = owner
    while scope is not None:
        candidate = f"{scope.path}.{name}"
        if _exists(root, candidate):
            return candidate
        scope = scope.parent
    if not relative and _exists(root, name):
        return name
    return name


def _rewrite(root: griffe.Module, owner: griffe.Object, text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        content = match.group(1).strip()
        titled = TITLED.match(content)
        if titled:
            title, target = titled.group("title"), titled.group("target").strip()
        else:
            short = content.startswith("~")
            target = content.lstrip("~")
            title = target.lstrip(".").rsplit(".", 1)[-1] if short else target.lstrip(".")
        path = _resolve(root, owner, target.lstrip("~"))
        return (
            f'<autoref identifier="{html.escape(path, quote=True)}" optional>'
            f"<code>{html.escape(title)}</code></autoref>"
        )

    return ROLE.sub(replace, text)


class SphinxToMarkdown(griffe.Extension):
    """Rewrite the grouped arguments and Sphinx roles of every docstring of the package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        seen: set[int] = set()

        def visit(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is not None and ":" in obj.docstring.value:
                value = literal_blocks(split_grouped_args(obj.docstring.value))
                obj.docstring.value = _rewrite(pkg, obj, value)
            for member in obj.members.values():
                if not member.is_alias:
                    visit(member)  # type: ignore[arg-type]

        visit(pkg)
