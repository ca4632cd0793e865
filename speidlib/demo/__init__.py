"""The synthetic demo: a small genome with a planted enhancer-promoter motif grammar (``synthetic``)."""
