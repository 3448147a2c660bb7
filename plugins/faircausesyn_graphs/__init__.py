"""faircausesyn built-in plugin: graphs (being written)."""
