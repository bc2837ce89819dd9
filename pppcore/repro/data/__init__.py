"""Data sources: procedural imagery (offline default); downloaders arrive with the workflow."""
