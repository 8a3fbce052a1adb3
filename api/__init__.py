"""The HTTP API: serves the widget's document from Redis alone."""
