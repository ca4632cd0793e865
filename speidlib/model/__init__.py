"""The SPEID network: ``presets`` (``ModelConfig``), ``layers`` (``PooledConv1D``), ``build`` and ``jaspar_init``."""
