"""Scoring pairs: ``core`` (the one inference primitive and the element cache) and ``run`` (``speid score``)."""
