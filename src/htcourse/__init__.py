"""Shared code for the course package.

Labs, dataset generators, the site build and the grading tools import from
here, so that no notebook repeats logic that another one already has.
"""

__version__ = "0.1.0"
