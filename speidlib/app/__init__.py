"""What users run: ``cli`` (the ``speid`` command), ``notebooks`` (papermill runner), ``reports``
(tables written with their figures) and ``dashboards`` (voila model and view classes).
"""
