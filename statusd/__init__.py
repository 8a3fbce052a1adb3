"""statusd's entry points: the `statusd` command that wires collector, API and Redis."""
