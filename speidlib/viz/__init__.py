"""Plotly figures for notebooks and dashboards: ``figures`` and ``attribution``. Nothing in the core imports this."""
