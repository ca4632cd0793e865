"""SPEID workbench: enhancer-promoter interactions from DNA sequence alone."""
from speidlib.runtime import quiet_logs as _quiet_logs

# TensorFlow's C++ start-up chatter hides the workbench's own messages.
_quiet_logs()

__version__ = "0.1.0"
