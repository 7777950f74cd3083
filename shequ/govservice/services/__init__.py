"""Every write of the government-service app: applications, evaluations and rectifications, the
catalog, home care, the deadline jobs (one module per concern)."""
