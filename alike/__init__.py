"""Alike opinions (issue 16): opinions saying the same thing grouped per consultation and
article, copied texts from many accounts marked as campaigns, one answer per group.

- ``similarity.py``: the text's fold, shingles, signature and the check that two texts ask the
  same thing (pure, no database).
- ``grouping.py``: the groups kept in the database: one new opinion at a time (the worker),
  or a whole consultation again (``opinions group``), the moderator's decisions respected.
- ``services.py``: the moderator's decisions: remove an opinion from a group, merge two
  groups, answer a whole group (through the worker).
- ``queries.py``, ``views.py``: the moderation pages of groups; ``cli.py``, ``jobs.py``.
"""

from flask import Blueprint

bp = Blueprint("alike", __name__)
