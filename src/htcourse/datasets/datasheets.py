"""Datasheets: the figures' formatting, the Markdown templates and their rendering.

Each dataset's datasheet is a Markdown template shipped with the package
(``datasheet_templates/<name>.md``) that :func:`render_datasheet` fills with
figures the generator computed from the very tables it writes, so a
regenerated dataset never ships with a stale datasheet.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources import files
from typing import Any

from .writing import format_float, is_missing

#: The folder of Markdown templates, one per dataset, plus the shared closing sections.
TEMPLATES = files(__package__) / "datasheet_templates"
#: The template of the closing sections (licence, maintenance, references) every datasheet ends with.
CLOSING_TEMPLATE = "closing"


def fmt_int(value: int) -> str:
    """An integer with thousands separators, e.g. ``3,012``."""
    return f"{int(value):,}"


def fmt_pct(fraction: float, decimals: int = 1) -> str:
    """A fraction as a percentage, e.g. ``0.1234`` -> ``12.3%``."""
    if is_missing(fraction):
        return "n/a"
    return f"{format_float(100.0 * fraction, decimals)}%"


def fmt_num(value: float, decimals: int = 1) -> str:
    """A number with a fixed number of decimals and thousands separators."""
    if is_missing(value):
        return "n/a"
    text = f"{value:,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0.0:
        text = text[1:]
    return text


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (no trailing newline)."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---" for _ in headers) + " |",
    ]
    for row in rows:
        cells = [str(cell) for cell in row]
        if len(cells) != len(headers):
            raise ValueError(f"table row {cells} does not have {len(headers)} cells")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


SYNTHETIC_NOTICE = (
    "**This dataset is synthetic: a computer program generated every value, and no row is a real person.**"
)


def template(name: str) -> str:
    """The text of ``datasheet_templates/<name>.md``, shipped with the package."""
    return (TEMPLATES / f"{name}.md").read_text(encoding="utf-8")


def render_datasheet(figures: Mapping[str, str], *, name: str, module: str, seed: int) -> str:
    """Fill dataset ``name``'s datasheet template and append the shared closing sections.

    The template is ``datasheet_templates/<name>.md``; the closing sections
    that every datasheet shares are ``datasheet_templates/closing.md``. They
    use ``$placeholder`` syntax (:class:`string.Template`), so Markdown's
    braces and asterisks need no escaping. ``$name``, ``$module`` and
    ``$seed`` are filled in here; every other placeholder must have a figure,
    and a missing one raises ``KeyError`` rather than leaving a hole in the
    datasheet. The result starts with the synthetic-data notice.
    """
    values = {"name": name, "module": module, "seed": str(seed), **figures}
    body = string.Template(template(name)).substitute(values)
    closing = string.Template(template(CLOSING_TEMPLATE)).substitute(values)
    text = f"{SYNTHETIC_NOTICE}\n\n{body.strip()}\n\n{closing}"
    return text.rstrip("\n") + "\n"
