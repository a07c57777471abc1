"""The ``lantern`` command: runs the system and talks to it (operators, responders, scripts)."""
