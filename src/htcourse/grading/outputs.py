"""Keep what a graded cell printed to a size a person can read.

nbgrader's ``LimitOutput`` counts lines only, so one enormous line (or a
huge HTML table, or a picture of many megabytes) passes through untouched
into the autograded notebook, the formgrader and the feedback page.
:class:`LimitOutputSize` runs after it during autograding and cuts every
output to a number of characters, and every cell to a total.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

#: Text that marks an output cut by :class:`LimitOutputSize` (the grader looks for it).
TRUNCATION_MARK = "[output truncated by the grader:"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


class LimitOutputSize(NbGraderPreprocessor):
    """Cut each output of a code cell to ``max_output_chars`` characters and
    each cell's outputs to ``max_cell_chars`` in all."""

    max_output_chars = Integer(20_000, help="Largest size of one output (characters of text or of base64 data).").tag(
        config=True
    )
    max_cell_chars = Integer(100_000, help="Largest size of all the outputs of one cell together.").tag(config=True)
    note = Unicode(
        TRUNCATION_MARK + " {size:,} characters in all]",
        help="Appended where an output was cut; {size} is its full size.",
    ).tag(config=True)

    def _note(self, size: int) -> str:
        return "\n" + self.note.format(size=size) + "\n"

    def _limit_output(self, output: NotebookNode) -> tuple[NotebookNode, int]:
        limit = self.max_output_chars
        kind = output.get("output_type")
        if kind == "stream":
            text = _text(output.get("text", ""))
            if len(text) > limit:
                output["text"] = text[:limit] + self._note(len(text))
            return output, len(_text(output["text"]))
        if kind == "error":
            lines = [_text(line) for line in output.get("traceback", [])]
            size = sum(len(line) for line in lines)
            if size > limit:
                kept, used = [], 0
                for line in lines:
                    if used + len(line) > limit:
                        kept.append(line[: max(0, limit - used)] + self._note(size))
                        break
                    kept.append(line)
                    used += len(line)
                output["traceback"] = kept
            output["evalue"] = _text(output.get("evalue", ""))[:limit]
            return output, sum(len(line) for line in output["traceback"])
        if kind in ("display_data", "execute_result"):
            bundle = output.get("data", {})
            size = sum(len(_text(value)) for value in bundle.values())
            if size > limit:
                plain = _text(bundle.get("text/plain", ""))
                output["data"] = {"text/plain": plain[:limit] + self._note(size)}
                output["metadata"] = {}
            return output, sum(len(_text(value)) for value in output["data"].values())
        return output, 0

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not cell.get("outputs"):
            return cell, resources
        kept, total = [], 0
        for output in cell.outputs:
            output, size = self._limit_output(output)
            if total + size > self.max_cell_chars:
                full = (
                    total
                    + size
                    + sum(
                        sum(len(_text(v)) for v in o.get("data", {}).values()) + len(_text(o.get("text", "")))
                        for o in cell.outputs[len(kept) + 1 :]
                    )
                )
                kept.append(NotebookNode(output_type="stream", name="stdout", text=self._note(full)))
                break
            kept.append(output)
            total += size
        cell.outputs = kept
        return cell, resources


def was_truncated(cell: NotebookNode) -> bool:
    """Whether :class:`LimitOutputSize` (or nbgrader's ``LimitOutput``) cut an output of ``cell``."""
    for output in cell.get("outputs", []):
        text = _text(output.get("text", "")) + "".join(_text(v) for v in output.get("data", {}).values())
        text += "".join(_text(line) for line in output.get("traceback", []))
        if TRUNCATION_MARK in text or "... Output truncated ..." in text:
            return True
    return False
