"""The collector: probes every configured service on its own interval into Redis."""
