"""Plumbing every Lantern service shares, one sub-package per concern.

Read top-down: ``interface`` -> ``messaging`` -> ``store`` -> ``access`` / ``integrity`` /
``privacy`` -> ``logs``, ``domain``, ``settings``.  It knows no service.
"""
