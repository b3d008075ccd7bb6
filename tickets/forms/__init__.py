"""Validation only, one module per area; nothing here calls the API or writes.

Each module is named after its area (issue, holders, holders_csv, reports, reconciliation, ...),
as are the selectors, services, views and templates of the same area.
"""
