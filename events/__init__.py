"""Lantern's public wire contract.

Everything a service says to another service, or a client says to a service,
is defined here as a versioned msgspec Struct and travels as JSON.  Domain
events stay private inside each service; these are deliberate translations.
A released struct is never changed in place: a new shape gets a new ``Vn``.
"""
