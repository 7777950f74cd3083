"""Demo data of the participation app, one module per area (``disclosure``; the demo builder
``shequ.demo.generator`` calls each area's ``generate_*``)."""
