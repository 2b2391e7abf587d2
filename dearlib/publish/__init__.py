"""What the kit publishes about its runs: the reference run, the reproduction log, the pipeline picture, links.

- `reference_run`: the published reference run: cleaned notebooks, timings and RESULTS.md;
- `reproductions`: the reproduction log's line of a run (run_all.sh prints it; docs/reproductions.md);
- `diagrams`: the pipeline picture (figures/pipeline.png) and its Mermaid twin (docs/pipeline.md);
- `links`: relative links of pages and notebooks, rewritten for the reference run and checked.

The top of the package: it reads every stage's output and nothing imports it.
"""
