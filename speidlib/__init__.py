"""SPEID workbench: enhancer-promoter interactions from DNA sequence alone."""
import os as _os

# TensorFlow's C++ start-up chatter hides the workbench's own messages.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
