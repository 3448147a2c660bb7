"""faircausesyn built-in plugin: evaluators (being written)."""
