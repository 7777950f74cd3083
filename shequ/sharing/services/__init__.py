"""Every write of the sharing app, one module per area (``access``, ``rights`` …)."""
