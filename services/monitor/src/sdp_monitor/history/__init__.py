"""Task history in Redis: one hash per task, indexed by first-seen time for each filter."""
