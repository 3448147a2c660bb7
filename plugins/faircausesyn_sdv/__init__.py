"""faircausesyn built-in plugin: sdv (being written)."""
