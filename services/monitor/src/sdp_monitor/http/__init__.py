"""Requests in, answers out: routes, their dependencies and schemas, task actions, audit."""
