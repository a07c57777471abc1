"""How requests reach a service.

One declaration per operation (HTTP, NATS, OpenAPI), the guard, the service process.
"""
