"""Dispatch: assigns a responder from the roster and follows the dispatch to its end."""
