"""The catalog: the SQLite index, the manifests in storage it caches, keys, reconcile, walks."""
