"""Code both sides use: configuration, Redis keys, the status model and its store."""
