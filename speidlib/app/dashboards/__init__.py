"""Voila dashboards over run directories: state (models) and widgets (views), kept apart.

The models (:class:`PredictionsModel`, :class:`MotifsModel`, :class:`LinksModel`) hold every piece of
state as traitlets and compute what follows from it; they need no browser and
are tested on their own. The views bind ipywidgets (plotly figures in
``Output`` widgets) to a model. The notebooks in ``dashboards/`` only wire one to the
other; ``scripts/serve_dashboards.sh`` serves them with voila.
"""
from speidlib.app.dashboards.links import LinksModel
from speidlib.app.dashboards.links_view import LinksView
from speidlib.app.dashboards.motifs import MotifsModel
from speidlib.app.dashboards.motifs_view import MotifsView
from speidlib.app.dashboards.predictions import PredictionsModel
from speidlib.app.dashboards.predictions_view import PredictionsView
from speidlib.app.dashboards.runs import list_runs, resolve_run, runs_root


def predictions_dashboard(root=None, run=None):
    """The predictions dashboard: a :class:`PredictionsView` over a new :class:`PredictionsModel`."""

    return PredictionsView(PredictionsModel(root, run))


def motifs_dashboard(root=None, run=None):
    """The motifs dashboard: a :class:`MotifsView` over a new :class:`MotifsModel`."""

    return MotifsView(MotifsModel(root, run))


def links_dashboard(root=None, run=None):
    """The links dashboard: a :class:`LinksView` over a new :class:`LinksModel`."""

    return LinksView(LinksModel(root, run))


__all__ = ["LinksModel", "MotifsModel", "PredictionsModel", "links_dashboard", "list_runs", "motifs_dashboard",
           "predictions_dashboard", "resolve_run", "runs_root"]
