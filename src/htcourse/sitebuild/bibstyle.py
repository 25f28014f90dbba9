"""The bibliography style the site uses (``bibtex_default_style: htcourse``)."""

from __future__ import annotations


def register_bibliography_style() -> None:
    """A bibliography style that leaves out each entry's ``note``.

    In ``book/references.bib`` the note records where the entry was verified:
    a record for the course's maintainers, not text for readers.
    """
    import pybtex.plugin
    from pybtex.database import Entry
    from pybtex.style.formatting.unsrt import Style as UnsrtStyle

    class CourseStyle(UnsrtStyle):
        def format_entry(self, label, entry, bib_data=None):
            fields = {k: v for k, v in entry.fields.items() if k.lower() != "note"}
            trimmed = Entry(entry.type, fields=fields, persons=entry.persons)
            trimmed.key = entry.key
            return super().format_entry(label, trimmed, bib_data=bib_data)

    pybtex.plugin.register_plugin("pybtex.style.formatting", "htcourse", CourseStyle)
