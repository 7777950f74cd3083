"""Core's domain event handlers (messaging deliveries); imported by CoreConfig.ready()."""
