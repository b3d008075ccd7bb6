"""Reads: one module per area, each query with its own select_related/prefetch."""
