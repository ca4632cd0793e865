"""The synthetic demo: a small genome with a planted enhancer-promoter motif grammar (``synthetic``)."""
from speidlib.runtime import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "synthetic": ("make_demo", "load_demo", "DemoConfig"),
})
