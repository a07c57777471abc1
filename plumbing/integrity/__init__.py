"""Tamper evidence and the audit trail.

Audit entries, the hash chain over every store, its chainer and verification.
"""
