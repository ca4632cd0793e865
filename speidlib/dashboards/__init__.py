"""Voila dashboards over run directories: state (models) and widgets (views), kept apart.

The models (:class:`PredictionsModel`, :class:`MotifsModel`) hold every piece of
state as traitlets and compute what follows from it; they need no browser and
are tested on their own. The views bind ipywidgets (plotly figures in
``Output`` widgets) to a model. The notebooks in ``dashboards/`` only wire one to the
other; ``scripts/serve_dashboards.sh`` serves them with voila.
"""
from .motifs import MotifsModel
from .predictions import PredictionsModel
from .runs import list_runs, resolve_run, runs_root


def predictions_dashboard(root=None, run=None):
    """The predictions dashboard: a :class:`PredictionsView` over a new :class:`PredictionsModel`."""
    from .predictions_view import PredictionsView

    return PredictionsView(PredictionsModel(root, run))


def motifs_dashboard(root=None, run=None):
    """The motifs dashboard: a :class:`MotifsView` over a new :class:`MotifsModel`."""
    from .motifs_view import MotifsView

    return MotifsView(MotifsModel(root, run))


__all__ = ["MotifsModel", "PredictionsModel", "list_runs", "motifs_dashboard",
           "predictions_dashboard", "resolve_run", "runs_root"]
