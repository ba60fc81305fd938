"""Where PostgreSQL and Kafka come from: a URL, a container, or a local process.

Each service module walks the same ladder (a server the user runs, a Docker
container, an embedded process) and returns a handle that knows how to stop
what it started.
"""

from __future__ import annotations
