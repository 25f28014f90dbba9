"""Benchmark the course's real work: ``make bench`` (``python -m htcourse.bench``).

Prints one JSON document and a readable table, measured in one run on this
machine. Nothing here is a test: targets are reported, never asserted.

* site build: cold build of the full book (fresh output folder, no execution
  cache), a rebuild with no change, a rebuild after touching one page;
* notebook execution seconds, each notebook run top to bottom with nbclient;
* class grading (when the nbgrader course is present): see ``--students``;
* site weight: each page's own HTML bytes, and the bytes a browser transfers
  (gzip, as GitHub Pages serves it) for the heaviest page;
* Lighthouse (mobile, simulated throttling) on each kind of page: scores,
  paint and blocking times, bytes transferred (:mod:`htcourse.bench.lighthouse`).

The parts live in :mod:`htcourse.bench.build`, :mod:`htcourse.bench.lighthouse`
and :mod:`htcourse.bench.grading` (class grading, on a synthetic class written by
:mod:`htcourse.bench.submissions`).
"""
