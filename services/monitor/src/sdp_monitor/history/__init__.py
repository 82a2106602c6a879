"""Task history in Redis: one hash per task, indexed by first-seen time for each filter.

`record` defines a record (fields, state ranks), `scripts` the Lua that writes, trims and pages
it, `writer` buffers the event consumer's changes into it, `store` reads it for requests.
"""
