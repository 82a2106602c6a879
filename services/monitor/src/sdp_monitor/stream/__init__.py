"""Celery events: the broker's fanout, routed into the live state, history and SSE feed."""
