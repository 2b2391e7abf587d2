"""The ground every stage stands on: records, profiles, files and models. No step of the method lives here.

- `records`: the typed records passed between stages (Query, Passage, Candidates, Dataset; runs and qrels);
- `config`: the profiles (configs/smoke.yaml, mini.yaml, paper.yaml), notebook overrides, paths from the checkout;
- `schema`: every profile key with its type and meaning, checked on load (unknown keys, types, secrets);
- `readers`: JSON, JSONL and gzip files read with the file and line named on any error;
- `atomic`: files written whole or not at all (a temporary file renamed into place);
- `offline`: one clear message when something needs the network;
- `models`: where models come from (packaged MiniLM and SmolLM2, tiny random LLaMA, hub ids);
- `dryrun`: the paper's architectures with empty weights: parameter counts and memory estimates.

Nothing here imports from the other subpackages.
"""
