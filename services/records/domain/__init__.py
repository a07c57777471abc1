"""The records model: timeline entries and pure folds over them (no I/O, no clock)."""
