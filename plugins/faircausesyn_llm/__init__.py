"""faircausesyn built-in plugin: llm (being written)."""
