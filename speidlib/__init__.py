"""SPEID workbench."""
