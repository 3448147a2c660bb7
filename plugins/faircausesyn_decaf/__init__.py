"""faircausesyn built-in plugin: decaf (being written)."""
