"""The grid app's event handlers and periodic jobs; imported by GridConfig.ready()."""
