"""faircausesyn built-in plugin: method (being written)."""
