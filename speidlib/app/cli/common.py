"""What the command modules share: the summary line's stream."""
from __future__ import annotations

import sys


def summary_stream(args):
    """Where a step's summary line goes: the standard error when the table went to the standard
    output (``--out -``), so that the output stays the table alone."""
    return sys.stderr if getattr(args, "out", None) == "-" else sys.stdout
