"""``python -m speidlib.app.cli``: the ``speid`` command (the study runs its steps so)."""
import sys

from speidlib.app.cli import main

sys.exit(main())
