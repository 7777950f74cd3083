"""Demo data of the participation app, one module per area (``consult``: 议事协商); the demo
generator (``shequ/demo/generator.py``) calls each area's ``generate_*``."""
