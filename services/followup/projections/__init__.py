"""Follow-up's read models, each named for the question it answers."""
