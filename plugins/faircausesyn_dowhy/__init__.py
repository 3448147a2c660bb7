"""faircausesyn built-in plugin: dowhy (being written)."""
