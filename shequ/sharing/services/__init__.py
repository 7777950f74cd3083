"""The sharing app's writes, one module per area: department clients and grants (``access``,
``clients``), data requests, subscriptions and residents' requests."""
