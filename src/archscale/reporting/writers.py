"""Report documents (Markdown and self-contained HTML) and the atomic report directory.

A document is a list of blocks (``Heading``, ``Text``, ``TableBlock``, ``Figure``, ``Code``)
rendered twice: ``markdown`` refers to the images by relative path (``plots/x.png``);
``html_page`` embeds every image (SVG as a base64 data URI) and escapes every string, so the
HTML file is one self-contained page with no user string interpreted as markup.

``write_directory`` writes all files into a temporary directory next to ``--out`` and renames
it into place: a failure leaves nothing partially written, and an earlier report at ``--out``
is replaced only once the new one is complete. It refuses to replace a non-empty directory
that is not an archscale report.
"""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Union

from archscale.reporting.plots import Plot
from archscale.reporting.schema import ReportError
from archscale.reporting.tables import Table, html_table, markdown_escape, render, size

MARKER = ".archscale-report"


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1-3)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text (escaped in both formats)."""

    text: str


@dataclass(frozen=True)
class Code:
    """A literal block (commands)."""

    text: str


@dataclass(frozen=True)
class TableBlock:
    """A table, with its note under it."""

    table: Table
    show_title: bool = False


@dataclass(frozen=True)
class Figure:
    """A plot with its caption."""

    plot: Plot


Block = Union[Heading, Text, Code, TableBlock, Figure]


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _fence(text: str) -> str:
    runs = [len(m) for m in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)


def markdown(blocks: Sequence[Block], plot_dir: str = "plots") -> str:
    """GitHub Markdown of the document; images as ``plot_dir/<slug>.png`` links."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {markdown_escape(block.text)}")
        elif isinstance(block, Text):
            out.append(markdown_escape(block.text))
        elif isinstance(block, Code):
            fence = _fence(block.text)
            out.append(f"{fence}sh\n{block.text}\n{fence}")
        elif isinstance(block, TableBlock):
            if block.show_title:
                out.append(f"**{markdown_escape(block.table.title)}**")
            out.append(render(block.table, "github"))
            if block.table.note:
                out.append(markdown_escape(block.table.note))
        elif isinstance(block, Figure):
            plot = block.plot
            out.append(f"![{markdown_escape(plot.title)}]({plot_dir}/{plot.slug}.png)")
            out.append(f"{markdown_escape(plot.caption)} "
                       f"([SVG]({plot_dir}/{plot.slug}.svg))")
    return "\n\n".join(out) + "\n"


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1500px; padding: 0 1em; color: #1f2328; line-height: 1.45; }
h1 { border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0 1em; font-size: 12.5px; display: block;
        overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; white-space: nowrap; }
th { background: #f6f8fa; white-space: normal; vertical-align: bottom; }
td.wrap { white-space: normal; min-width: 16em; }
tr:nth-child(even) td { background: #fbfcfd; }
figure { margin: 1em 0 2em; }
figure img { width: 100%; max-width: 960px; height: auto; border: 1px solid #eaeef2; }
figcaption, p.note { color: #57606a; font-size: 13px; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: 13px; }
nav ul { columns: 2; font-size: 14px; }
"""


def _data_uri(plot: Plot) -> str:
    if plot.svg:
        return "data:image/svg+xml;base64," + base64.b64encode(plot.svg.encode()).decode()
    return "data:image/png;base64," + base64.b64encode(plot.png).decode()


def html_page(blocks: Sequence[Block], title: str) -> str:
    """One self-contained HTML page: inline CSS, images embedded, every string escaped."""
    esc = html.escape
    body: list[str] = []
    toc = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f'<h{block.level} id="{_anchor(block.text)}">{esc(block.text)}'
                        f'</h{block.level}>')
            if block.level == 1 and toc:
                items = "".join(f'<li><a href="#{_anchor(h.text)}">{esc(h.text)}</a></li>'
                                for h in toc)
                body.append(f"<nav><ul>{items}</ul></nav>")
        elif isinstance(block, Text):
            body.append(f"<p>{esc(block.text)}</p>")
        elif isinstance(block, Code):
            body.append(f"<pre><code>{esc(block.text)}</code></pre>")
        elif isinstance(block, TableBlock):
            if block.show_title:
                body.append(f"<p><strong>{esc(block.table.title)}</strong></p>")
            body.append(html_table(block.table))
            if block.table.note:
                body.append(f'<p class="note">{esc(block.table.note)}</p>')
        elif isinstance(block, Figure):
            plot = block.plot
            body.append(f'<figure><img src="{_data_uri(plot)}" alt="{esc(plot.title)}">'
                        f"<figcaption>{esc(plot.caption)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


# ---------------------------------------------------------------------------------------------
# The directory
# ---------------------------------------------------------------------------------------------


def is_report_dir(path: str) -> bool:
    """Whether ``path`` holds an archscale report (its marker file)."""
    return os.path.isfile(os.path.join(path, MARKER))


def _check_target(out: str) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise ReportError(f"--out must be a directory; a file is in the way. Received: "
                          f"--out={out!r}")
    if os.path.isdir(out) and os.listdir(out) and not is_report_dir(out):
        raise ReportError(f"--out is a non-empty directory that is not an archscale report; "
                          f"refusing to replace it. Received: --out={out!r}")


def preflight(out: str) -> None:
    """Fail early, before any plot is rendered, if ``out`` cannot become the report directory.

    Raises:
        ReportError: ``out`` is a file or a foreign non-empty directory, a path component is a
            file, or the nearest existing directory is not writable.
    """
    out = os.path.abspath(out)
    _check_target(out)
    path = os.path.dirname(out)
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        raise ReportError(f"cannot write the report: {path!r} is not a directory. "
                          f"Received: --out={out!r}")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ReportError(f"cannot write the report: {path!r} is not writable. "
                          f"Received: --out={out!r}")


def _make_parents(parent: str, out: str) -> list[str]:
    """Create the missing directories up to ``parent``; returns them (deepest last)."""
    missing = []
    path = parent
    while path and not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    if path and not os.path.isdir(path):
        raise ReportError(f"cannot write the report: {path!r} is not a directory. "
                          f"Received: --out={out!r}")
    missing.reverse()
    made = []
    for path in missing:
        try:
            os.mkdir(path)
        except OSError as exc:
            _remove_dirs(made)
            raise ReportError(f"cannot create {path!r}: {exc.strerror}. "
                              f"Received: --out={out!r}") from None
        made.append(path)
    return made


def _remove_dirs(dirs: Sequence[str]) -> None:
    for path in reversed(dirs):
        try:
            os.rmdir(path)
        except OSError:
            pass


def _write_files(root: str, files: Mapping[str, Union[str, bytes]]) -> None:
    for rel, content in files.items():
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(path, "wb") as handle:
            handle.write(data)


def write_directory(out: str, files: Mapping[str, Union[str, bytes]]) -> list[str]:
    """Write ``files`` (``{relative path: content}``) as the directory ``out``, atomically.

    Args:
        out: The report directory (created with its parents; an earlier report there is
            replaced).
        files: Relative paths with ``/`` separators and their text or bytes.

    Returns:
        The written paths (under ``out``), sorted.

    Raises:
        ReportError: ``out`` is a file or a foreign non-empty directory, or cannot be written
            (nothing is left behind).
    """
    out = os.path.abspath(out)
    _check_target(out)
    parent, name = os.path.split(out)
    made = _make_parents(parent, out)
    try:
        tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    except OSError as exc:
        _remove_dirs(made)
        raise ReportError(f"cannot write the report in {parent!r}: {exc.strerror}. "
                          f"Received: --out={out!r}") from None
    old = None
    try:
        _write_files(tmp, {**files, MARKER: "archscale report directory\n"})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        if os.path.isdir(out):
            old = os.path.join(parent, f".{name}.old-{uuid.uuid4().hex[:8]}")
            os.rename(out, old)
        os.rename(tmp, out)
    except BaseException as exc:  # Ctrl-C included: never leave a half-written report
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not os.path.exists(out):
            os.rename(old, out)
            old = None
        _remove_dirs(made)
        if not isinstance(exc, OSError):
            raise
        raise ReportError(f"cannot write the report to {out!r}: {exc.strerror or exc}. "
                          f"Received: --out={out!r}") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return sorted(os.path.join(out, *rel.split("/")) for rel in files)


def file_size_note(files: Mapping[str, Any]) -> str:
    """``"7 files, 1.2 MiB"``."""
    total = sum(len(c.encode() if isinstance(c, str) else c) for c in files.values())
    return f"{len(files)} files, {size(total)}"
