"""faircausesyn built-in plugin: the headline method and the ``tabular_lm`` backend.

Registers the generator ``faircausesyn`` (LLM proposal, causal control by
intervention while decoding, adversarial critic, closed fairness loop) and the
trainable LLM backend ``tabular_lm`` (a tiny GPT-2 trained from scratch on the
serialised rows). Both are lazy targets: listing plugins imports neither torch
nor transformers.
"""

from faircausesyn import hookimpl


@hookimpl
def register_generators(registry):
    registry.register(
        "faircausesyn",
        "faircausesyn_method.generator:FairCauseSyn",
        description="LLM-augmented causal-adversarial generator with a closed fairness loop (tabular LM or chat backends)",
    )


@hookimpl
def register_llm_backends(registry):
    registry.register(
        "tabular_lm",
        "faircausesyn_method.tabular_lm:TabularLM",
        description="tiny GPT-2 trained from scratch on the serialised rows, tokenizer built from the data (offline)",
    )
