"""The study layer: evaluation with noise floors, the metric list, topology audit, diagnostics, stability, comparison tables and sweeps."""
