"""Who is asking and what they may do.

``auth``: identity tokens; ``rules``: the access rules every operation declares.
"""
