"""What users run: ``cli`` (the ``speid`` command, with ``argtypes`` and ``cli_reference``),
``notebooks`` (papermill runner and the notebooks' shared steps), ``study`` (one ``speid``
process per cell line), ``reports`` (tables written with their figures), ``doctor``
(``speid doctor``), ``learning_curve`` and ``dashboards`` (voila model and view classes).
"""
