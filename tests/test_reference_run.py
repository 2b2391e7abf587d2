"""The reference run: RESULTS.md agrees with docs/reference-run/, notebooks are cleaned for a stranger, the page
generator reads its numbers from the files, and scripts/reference_run.py refuses what is not one run."""
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from conftest import ROOT
from dearlib.publish import links
from dearlib.publish import reference_run as ref

REFERENCE = ROOT / ref.REFERENCE
NOT_YET = "docs/reference-run/ is not committed yet (the lead commits it after `scripts/reference_run.py` on mini)"


# ------------------------------------------------------------------------------- the committed reference run


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=NOT_YET)
def test_results_md_is_what_the_committed_reference_run_gives():
    expected = ref.results_page(REFERENCE)
    assert (ROOT / "RESULTS.md").read_text() == expected, (
        "RESULTS.md differs from what docs/reference-run/ gives: rewrite it with "
        "`.venv/bin/python -m dearlib.publish.reference_run page` (never by hand)")


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=NOT_YET)
def test_every_ranking_number_in_results_md_is_in_the_result_files():
    """Independent of the generator: parse the tables and read the JSON files directly."""
    profile = json.loads((REFERENCE / "timings.json").read_text())["reference"]
    check_ranking_tables((ROOT / "RESULTS.md").read_text(), REFERENCE / "results" / profile)


def check_ranking_tables(text, results):
    """Each first table under a '### <dataset>' compares systems on one query set: every row averages over the
    queries all its systems answer (the mean of the file's per-query values there); a table over other queries
    follows only after a sentence saying so, with each system's own figure."""
    files = sorted(f for f in results.glob("*/*.json") if f.parent.name != "tables")
    compared = 0
    for dataset, tables in parse_ranking_tables(text).items():
        recs = {row["system"]: json.loads((results / dataset / f"{row['system']}.json").read_text())
                for _, rows in tables for row in rows}
        for i, (note, rows) in enumerate(tables):
            qids = [set(recs[r["system"]]["per_query"]["nDCG@10" if "nDCG@10" in r else "Top-1"]) for r in rows]
            shared = set.intersection(*qids)
            if i == 0:
                assert not note, f"{dataset}: a note between the heading and the first table"
                compared += len(rows)
            else:
                assert "not to be compared with it" in note, f"{dataset}: a table over other queries without a note"
                assert all(q != tables[0][1] for q in qids)
            assert {r["queries"] for r in rows} == {str(len(shared))}, f"{dataset}: rows over different query sets"
            for r, q in zip(rows, qids):
                per_query = recs[r["system"]]["per_query"]
                for measure, cell in r.items():
                    if re.match(r"(nDCG|Top-)", measure) and cell:
                        mean = sum(per_query[measure][x] for x in shared) / len(shared)
                        assert cell == f"{100 * mean:.2f}", (dataset, r["system"], measure)
    assert compared == len(files) > 0


def parse_ranking_tables(text: str) -> dict:
    """{dataset: [(the sentence before the table, [{column: cell}, ...]), ...]} from the '### <dataset>' tables."""
    section = text.split("## Ranking quality", 1)[1].split("\n## ", 1)[0]
    out = {}
    for block in section.split("\n### ")[1:]:
        dataset, _, body = block.strip().partition("\n")
        note = ""
        for para in body.strip().split("\n\n"):
            if not para.startswith("|"):
                note = para
                continue
            table = [[c.strip() for c in line.strip("|").split("|")] for line in para.split("\n")]
            out.setdefault(dataset, []).append((note, [dict(zip(table[0], cells)) for cells in table[2:]]))
            note = ""
    return out


# ------------------------------------------------------------------------------------------------- cleaning


def test_paths_become_relative_to_the_checkout_home_or_tmp():
    root = "/work/kit"
    rules = ref.path_rules(root)
    text = (f"wrote {root}/results/mini/dl19/bm25.json; cwd {root}; data /work/shared/data; other {root}2/x; "
            f"cache /root/.cache/hf and /home/alice/data; temp /tmp/tmpab12cd/run.trec; tool /usr/bin/tmpx")
    assert ref.relativise(text, rules) == ("wrote results/mini/dl19/bm25.json; cwd .; data ../shared/data; other ../kit2/x; "
                                           "cache ~/.cache/hf and ~/data; temp <tmp>/run.trec; tool /usr/bin/tmpx")
    assert ref.relativise("/kit/a and /kitchen", ref.path_rules("/kit")) == "a and /kitchen"  # / is no parent to name


def executed_notebook(root):
    """A small executed notebook as papermill leaves it, with everything a stranger should not see."""
    nb = new_notebook(metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
                                "papermill": {"input_path": f"{root}/notebooks/x.ipynb"}})
    params = new_code_cell('profile = "mini"\nresults_dir = "../results"', metadata={"tags": ["parameters"]})
    injected = new_code_cell(f'# Parameters\nprofile = "mini"\nresults_dir = "{root}/results"\n',
                             metadata={"tags": ["injected-parameters"], "papermill": {"duration": 0.1}})
    site = f"{root}/.venv/lib/python3.11/site-packages"
    stderr = ("\r  0%|          | 0/6 [00:00<?, ?it/s]\r 50%|█████     | 3/6 [00:01<00:01,  2.1it/s]"
              "\r100%|██████████| 6/6 [00:02<00:00,  2.3it/s]\n"
              f"{site}/transformers/trainer.py:12: FutureWarning: `tokenizer` is deprecated.\n  warnings.warn(\n"
              f"{site}/torch/utils/data.py:3: UserWarning: pin_memory is set\n but no accelerator is found\n"
              "  warnings.warn(warn_msg)\n"
              f"{root}/dearlib/stage1/training.py:40: UserWarning: 2 groups have no hard negative\n  warnings.warn(msg)\n"
              "Some weights of BertForSequenceClassification were not initialized: ['classifier.bias']\n")
    run = new_code_cell("train()", outputs=[
        new_output("stream", name="stdout", text=f"candidates in {root}/artifacts/mini/candidates (nq: 200)\n"),
        new_output("stream", name="stderr", text=stderr),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "ab"},
                                         "text/plain": "HBox(children=(FloatProgress(value=0.0),))"}),
        new_output("display_data", data={"image/png": "iVBORw0KGgo/tmp/AAAA", "text/plain": "<Figure>"}),
        new_output("execute_result", data={"text/html": f"<td>{root}/results/mini</td>", "text/plain": "table"},
                   execution_count=3),
        new_output("stream", name="stderr", text="\r  0%|          | 0/2 [00:00<?, ?it/s]\r100%|██| 2/2 [00:00<00:00]\n"),
    ], metadata={"papermill": {"duration": 2.0}, "execution": {"iopub.status.busy": "2026-01-01"}})
    failed = new_code_cell("boom()", outputs=[new_output("error", ename="OSError", evalue=f"{root}/x missing",
                                                          traceback=[f"File {root}/dearlib/retrieval/data.py:3"])])
    first = new_markdown_cell("# 02 · Stage 1\n\n**Needs:** notebook 01\n**Time:** smoke — s, mini — s (later)")
    nb.cells = [first, params, injected, run, failed]
    return nb


def test_clean_notebook_keeps_what_teaches_and_drops_the_noise(tmp_path):
    root = tmp_path / "kit"
    clean = ref.clean_notebook(executed_notebook(root), root)
    text = nbformat.writes(clean)
    assert str(tmp_path) not in text and "widgets" not in clean.metadata and "papermill" not in text
    assert "it/s" not in text and "FloatProgress" not in text  # progress bars, also as a widget
    assert "FutureWarning" not in text and "pin_memory" not in text and "accelerator" not in text
    assert [c.metadata.get("tags") for c in clean.cells if c.cell_type == "code"] == [["parameters"], None, None]
    stdout, stderr, image, table = clean.cells[2].outputs  # the last stream had only a bar: gone
    assert stdout.text == "candidates in artifacts/mini/candidates (nq: 200)\n"
    assert stderr.text == ("dearlib/stage1/training.py:40: UserWarning: 2 groups have no hard negative\n  warnings.warn(msg)\n"
                           "Some weights of BertForSequenceClassification were not initialized: ['classifier.bias']\n")
    assert image.data["image/png"] == "iVBORw0KGgo/tmp/AAAA"  # base64 is never rewritten
    assert table.data["text/html"] == "<td>results/mini</td>" and table.execution_count == 3
    assert clean.cells[3].outputs[0].evalue == "x missing" and clean.cells[3].outputs[0].traceback == ["File dearlib/retrieval/data.py:3"]


# one example of each thing docs/reference-run/README.md says the cleaning drops (ref.DROPPED)
LOAD_REPORT = ("\n[transformers] \x1b[1mBertForSequenceClassification LOAD REPORT\x1b[0m from: {site}/gt/model\n"
               "Key               | Status  | \n------------------+---------+-\nclassifier.bias   | MISSING | \n"
               "classifier.weight | MISSING | \n\nNotes:\n- MISSING:\tthose params were newly initialized because "
               "missing from the checkpoint. Consider training on your downstream task.\n")
DROPPED_EXAMPLES = {
    "progress bars": "\r  0%|          | 0/6 [00:00<?, ?it/s]\r100%|██████████| 6/6 [00:02<00:00,  2.3it/s]\n",
    "library warnings (FutureWarning, UserWarning, ... raised inside installed packages)":
        "{site}/transformers/trainer.py:12: FutureWarning: `tokenizer` is deprecated.\n  warnings.warn(\n",
    "transformers' LOAD REPORT tables of newly initialised weights": LOAD_REPORT,
}


def test_the_cleaning_drops_what_the_reference_run_readme_says_it_drops(tmp_path):
    assert set(DROPPED_EXAMPLES) == set(ref.DROPPED)  # a new claim in the README needs an example here
    root = tmp_path / "kit"
    site = f"{root}/.venv/lib/python3.11/site-packages"
    kept = "student trained: 150 steps\n"
    for what, example in DROPPED_EXAMPLES.items():
        nb = new_notebook(cells=[new_code_cell("x()", outputs=[
            new_output("stream", name="stderr", text=example.format(site=site) + kept)])])
        assert ref.clean_notebook(nb, root).cells[0].outputs[0].text == kept, what
    nb = new_notebook(cells=[new_code_cell("x()", outputs=[new_output("stream", name="stderr", text=LOAD_REPORT.format(
        site=site) * 6)])])  # notebook 02's six students: the whole stream goes
    assert ref.clean_notebook(nb, root).cells[0].outputs == []
    (tmp_path / "timings.json").write_text(json.dumps({"reference": "mini", "runs": {"mini": timing("mini", {})}}))
    readme = ref.index_page(tmp_path)
    assert all(what in readme for what in ref.DROPPED)
    assert "[`figures/mini/`](../../figures/mini/)" in readme  # where the figures went, linked from docs/reference-run/


def test_links_of_the_markdown_cells_resolve_from_the_published_folder(tmp_path):
    text = ("![pipeline](../figures/pipeline.png) and [the chart](../docs/pipeline.md#the-pipeline), "
            "[notebook 02](02_stage1_distillation.ipynb), [paper](https://arxiv.org/abs/2508.16998), "
            "[above](#recap), `[code](../not/a/link.md)`")
    nb = new_notebook(cells=[new_markdown_cell(text)])
    clean = ref.clean_notebook(nb, tmp_path)
    assert clean.cells[0].source == (
        "![pipeline](../../figures/pipeline.png) and [the chart](../pipeline.md#the-pipeline), "
        "[notebook 02](02_stage1_distillation.ipynb), [paper](https://arxiv.org/abs/2508.16998), "
        "[above](#recap), `[code](../not/a/link.md)`")
    source = ROOT / "notebooks" / "01_candidate_retrieval.ipynb"  # the real notebook, published: its links resolve
    published = tmp_path / "probe_01.ipynb"  # a copy checked from the folder it is published in; the checkout untouched
    nbformat.write(ref.clean_notebook(nbformat.read(source, as_version=4), ROOT), published)
    assert links.broken(published, folder=REFERENCE) == [] and links.targets(links.markdown_of(published))
    assert links.broken(published) != []  # from tmp_path the same relative links resolve to nothing: the folder counts


def test_injected_parameters_stay_when_they_change_a_default(tmp_path):
    root = tmp_path / "kit"
    nb = executed_notebook(root)
    nb.cells[2].source = nb.cells[2].source.replace('"mini"', '"smoke"')
    clean = ref.clean_notebook(nb, root)
    assert clean.cells[2].source == '# Parameters\nprofile = "smoke"\nresults_dir = "results"\n'


def test_time_line_replaces_the_one_line_of_the_first_cell(tmp_path):
    nb = executed_notebook(tmp_path)
    line = ref.time_line({"smoke": 12.4, "mini": 700}, "mini", 2)
    assert line == "**Time:** about 12 s on smoke and 700 s on mini (2 CPU cores; the reference run, docs/reference-run/)."
    ref.set_time_line(nb, line, "x.ipynb")
    assert nb.cells[0].source == f"# 02 · Stage 1\n\n**Needs:** notebook 01\n{line}"
    assert ref.time_line({"smoke": 30}, "smoke", 2).startswith("**Time:** about 30 s on smoke (2 CPU")
    nb.cells[0].source += "\n**Time:** again"
    with pytest.raises(ValueError, match=r"x.ipynb: the first cell has 2 lines starting with '\*\*Time:\*\*'"):
        ref.set_time_line(nb, line, "x.ipynb")
    # a paragraph that goes on: replacing its first line would leave the rest dangling after the measured line
    nb.cells[0].source = "# 02\n\n**Time:** about 1058 s on mini, before int8\ngeneration; with it about 520 s.\n\nNext."
    with pytest.raises(ValueError, match=r"x.ipynb: the \*\*Time:\*\* paragraph goes on after its first line"):
        ref.set_time_line(nb, line, "x.ipynb")
    nb.cells[0].source = "# 02\n\n**Time:** about 1058 s on mini.\n\nNext."
    ref.set_time_line(nb, line, "x.ipynb")
    assert nb.cells[0].source == f"# 02\n\n{line}\n\nNext."


# ----------------------------------------------------------------------------------------------- the page


def result(dataset, system, metrics, n=2, profile="mini"):
    """A result file of the contract's shape (dearlib.evaluation.results), its per-query values averaging to `metrics`."""
    return {"dataset": dataset, "system": system, "profile": profile, "metrics": metrics,
            "per_query": {m: {f"q{i}": v for i in range(n)} for m, v in metrics.items()}, "queries_without_run": [],
            "provenance": {"config_hash": "x", "git_commit": "0123456789abcdef", "finished": "2026-01-01T00:10:00+00:00"}}


def timing(profile, seconds, commit="0123456789abcdef"):
    return {"notebooks": seconds, "total_seconds": sum(seconds.values()), "profile": profile, "git_commit": commit,
            "machine": {"cpu_cores": 2, "cpu_model": "AMD EPYC", "memory_gib": 23.5, "os": "Linux", "python": "3.11.7",
                        "torch": "2.13.0+cpu"}, "date": "2026-01-01T00:10:00+00:00"}


def tiny_reference(folder):
    res = folder / "results" / "mini"
    files = {("dl19", "bm25"): {"nDCG@1": 0.5, "nDCG@5": 0.25, "nDCG@10": 0.1234},
             ("dl19", "dear-p"): {"nDCG@1": 0.75, "nDCG@5": 0.5678, "nDCG@10": 0.375},
             ("nq", "bm25"): {"nDCG@10": 0.625, "Top-1": 0.5, "Top-5": 0.75, "Top-20": 1.0}}
    for (dataset, system), metrics in files.items():
        (res / dataset).mkdir(parents=True, exist_ok=True)
        (res / dataset / f"{system}.json").write_text(json.dumps(result(dataset, system, metrics)))
    command = ".venv/bin/python scripts/stage1_budget.py --profile mini --training-data nq trec-crossfit --losses ce --steps 300 --seeds 0 1"
    # DL19, two queries: seed 0 gives 0.50 and 0.542 (52.1), seed 1 0.52 and 0.562 (54.1); BM25 0.5 and 0.5116 (50.58)
    nq = lambda seed, dl19, nq10: {"training_data": "nq", "loss": "ce", "seed": seed, "steps": 300, "git_commit": "fedcba9876543210",
                                   "pairs_seen": 4800, "train_seconds": 612.5,
                                   "ndcg": {"dl19": {"nDCG@10": dl19}, "nq": {"nDCG@10": nq10, "Top-1": 40.25, "Top-5": 66.0}},
                                   "per_query": {"dl19": {"q1": 0.50 + 0.02 * seed, "q2": 0.542 + 0.02 * seed}}}
    budget = {"format": 3, "profile": "mini", "depth": 30, "nq_depth": 20, "commands": [command],
              "bm25": {"dl19": {"nDCG@10": 50.58}, "nq": {"nDCG@10": 40.0, "Top-1": 30.0, "Top-5": 60.0}},
              "teacher": {"dl19": {"nDCG@10": 61.09}, "nq": {"nDCG@10": 55.0, "Top-1": 45.0, "Top-5": 70.0}},
              "per_query": {"bm25": {"dl19": {"q1": 0.5, "q2": 0.5116}}},
              "points": {"nq/ce/seed0/300": nq(0, 52.1, 50.5), "nq/ce/seed1/300": nq(1, 54.1, 51.5),
                         "trec-crossfit/ce/seed0/300": {"training_data": "trec-crossfit", "loss": "ce", "seed": 0, "steps": 300,
                                                        "git_commit": "abcdef0123456789", "pairs_seen": 4790,
                                                        "trained_on": {"dl19": "dl20"}, "ndcg": {"dl19": {"nDCG@10": 61.0}},
                                                        "per_query": {"dl19": {"q1": 0.6, "q2": 0.62}}}}}
    (folder / "results" / "benchmarks").mkdir(parents=True)
    (folder / "results" / "benchmarks" / "stage1_budget.json").write_text(json.dumps(budget))
    runs = {"smoke": timing("smoke", {"01_candidate_retrieval.ipynb": 21, "02_stage1_distillation.ipynb": 19}, "aaaaaaaaaaaa"),
            "mini": timing("mini", {"01_candidate_retrieval.ipynb": 20, "02_stage1_distillation.ipynb": 723})}
    (folder / "timings.json").write_text(json.dumps({"reference": "mini", "runs": runs}))
    return folder


def test_results_page_reads_every_number_from_the_folder(tmp_path):
    page = ref.results_page(tiny_reference(tmp_path / "ref"))
    assert "| system | queries | nDCG@1 | nDCG@5 | nDCG@10 |\n|---|---|---|---|---|\n| bm25 | 2 | 50.00 | 25.00 | 12.34 |\n" \
           "| dear-p | 2 | 75.00 | 56.78 | 37.50 |" in page
    assert "### nq\n\n| system | queries | nDCG@10 | Top-1 | Top-5 | Top-20 |\n|---|---|---|---|---|---|\n" \
           "| bm25 | 2 | 62.50 | 50.00 | 75.00 | 100.00 |" in page
    # the published figures beside ours (dearlib/evaluation/reported.yaml), a slice of DL19 named as such
    assert "| dl19 | BM25 | nDCG@10 | 50.58 | 12.34 | 2 | not comparable | 2 of 43 queries |" in page
    assert "| dl19 | DeAR-L-8B | nDCG@10 | 77.91 |  |  | not run | in this profile (notebook 04) |" in page
    assert "| 01_candidate_retrieval.ipynb | 21 | 20 |\n| 02_stage1_distillation.ipynb | 19 | 723 |\n| all | 40 | 743 |" in page
    assert "commit `0123456789`" in page and "2 CPU cores (AMD EPYC), 23.5 GiB memory, Python 3.11.7, torch 2.13.0+cpu" in page
    assert "The `smoke` run: commit `aaaaaaaaaa`" in page  # another commit than the mini run's: said so
    # the side experiments' table: mean ± sample sd over the seeds (52.1 and 54.1: 53.10 ± 1.41), the seeds counted,
    # per query the seeds' mean minus BM25 (0.01 and 0.0404: +2.52, the interval spanning the two queries), the command
    assert "Commands: `.venv/bin/python scripts/stage1_budget.py --profile mini --training-data nq trec-crossfit --losses ce --steps 300 --seeds 0 1`." in page
    assert ("| model | loss | steps | pairs seen | seeds | nq nDCG@10 | dl19 nDCG@10 | dl19 - BM25 [95% CI] | commit |") in page
    assert "| BM25 |  |  |  |  | 40.00 | 50.58 |  |  |" in page
    assert "| student, NQ-trained | ce | 300 | 4800 | 2 | 51.00 ± 0.71 (n=2) | 53.10 ± 1.41 (n=2) | +2.52 [1.00, 4.04] | fedcba9876 |" in page
    # the in-domain student: 0.6 and 0.62 against 0.5 and 0.5116: +10.42, each query the same sign
    assert "| student, in-domain (other DL year) | ce | 300 | 4790 | 1 |  | 61.00 (n=1) | +10.42 [10.00, 10.84] | abcdef0123 |" in page
    assert "[docs/measurements.md](docs/measurements.md)" in page


def test_the_page_command_rewrites_results_md(tmp_path):
    folder = tiny_reference(tmp_path / "ref")
    assert ref.main(["page", "--reference", str(folder), "--out", str(tmp_path / "RESULTS.md")]) == 0
    page = (tmp_path / "RESULTS.md").read_text()
    # the numbers, read back from the result files by check_ranking_tables itself, and the rows built by hand
    check_ranking_tables(page, folder / "results" / "mini")
    tables = parse_ranking_tables(page)
    assert sorted(tables) == ["dl19", "nq"] and [len(t) for t in tables.values()] == [1, 1]
    assert tables["dl19"][0][1] == [
        {"system": "bm25", "queries": "2", "nDCG@1": "50.00", "nDCG@5": "25.00", "nDCG@10": "12.34"},
        {"system": "dear-p", "queries": "2", "nDCG@1": "75.00", "nDCG@5": "56.78", "nDCG@10": "37.50"}]
    assert tables["nq"][0][1] == [
        {"system": "bm25", "queries": "2", "nDCG@10": "62.50", "Top-1": "50.00", "Top-5": "75.00", "Top-20": "100.00"}]
    assert "| 02_stage1_distillation.ipynb | 19 | 723 |\n| all | 40 | 743 |" in page  # timings.json's seconds, summed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["RESULTS.md", "ref"]  # written to --out, nowhere else


def test_systems_over_other_queries_are_never_compared_in_one_table(tmp_path):
    """NQ: BM25 answered every question, the reranker the held-out ones; BM25 enters the comparison on those."""
    folder = tiny_reference(tmp_path / "ref")
    bm25 = result("nq", "bm25", {"nDCG@10": 0.0, "Top-1": 0.0, "Top-5": 0.0, "Top-20": 0.0}, n=4)
    bm25["per_query"] = {m: {"q0": 1.0, "q1": 0.5, "q2": 0.0, "q3": 0.0} for m in bm25["metrics"]}
    bm25["metrics"] = {m: 0.375 for m in bm25["metrics"]}  # the mean over its 4 questions
    (folder / "results" / "mini" / "nq" / "bm25.json").write_text(json.dumps(bm25))
    (folder / "results" / "mini" / "nq" / "dear-p.json").write_text(json.dumps(  # held out: q0 and q1
        result("nq", "dear-p", {"nDCG@10": 0.5, "Top-1": 0.25, "Top-5": 0.5, "Top-20": 0.75})))
    page = ref.results_page(folder)
    assert ("### nq\n\n| system | queries | nDCG@10 | Top-1 | Top-5 | Top-20 |\n|---|---|---|---|---|---|\n"
            "| bm25 | 2 | 75.00 | 75.00 | 75.00 | 75.00 |\n| dear-p | 2 | 50.00 | 25.00 | 50.00 | 75.00 |\n\n"
            f"{ref.OTHER_QUERIES} (bm25, 4 queries):\n\n| system | queries | nDCG@10 | Top-1 | Top-5 | Top-20 |\n"
            "|---|---|---|---|---|---|\n| bm25 | 4 | 37.50 | 37.50 | 37.50 | 37.50 |\n") in page
    check_ranking_tables(page, folder / "results" / "mini")
    mixed = page.replace("| bm25 | 2 | 75.00 | 75.00 | 75.00 | 75.00 |", "| bm25 | 4 | 37.50 | 37.50 | 37.50 | 37.50 |")
    with pytest.raises(AssertionError, match="nq: rows over different query sets"):  # what RESULTS.md once showed
        check_ranking_tables(mixed, folder / "results" / "mini")


def test_timings_record_the_notebooks_commit_and_machine(tmp_path):
    path = tmp_path / "outputs" / "smoke" / "timings.json"
    ref.main(["timings", str(path), "--profile", "smoke", "--total", "30", "01_a.ipynb=12", "02_b.ipynb=17.5"])
    t = json.loads(path.read_text())
    assert t["notebooks"] == {"01_a.ipynb": 12, "02_b.ipynb": 17.5} and t["total_seconds"] == 30 and t["profile"] == "smoke"
    assert t["machine"]["cpu_cores"] == len(os.sched_getaffinity(0)) and t["machine"]["python"] == sys.version.split()[0]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert t["git_commit"].removesuffix("-dirty") == (head or "unknown") and t["date"].startswith("20")  # "unknown" outside git


# ------------------------------------------------------------------------------ the script, on a fake checkout


def fake_checkout(tmp_path, finished="2026-01-01T00:09:00+00:00"):
    """A checkout with one notebook, its smoke run's outputs and results, and the script (dearlib from ours)."""
    root = tmp_path / "kit"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "reference_run.py", root / "scripts")
    nb = executed_notebook(root)
    source = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    for c in source.cells:
        if c.cell_type == "code":
            c.outputs = []
    (root / "notebooks").mkdir()
    nbformat.write(source, root / "notebooks" / "01_x.ipynb")
    (root / "outputs" / "smoke").mkdir(parents=True)
    nbformat.write(nb, root / "outputs" / "smoke" / "01_x.ipynb")
    (root / "outputs" / "smoke" / "timings.json").write_text(json.dumps(timing("smoke", {"01_x.ipynb": 61})))
    rec = result("dl19", "bm25", {"nDCG@1": 0.5, "nDCG@5": 0.25, "nDCG@10": 0.125}, profile="smoke")
    rec["provenance"].update(finished=finished, config={"data": f"{root}/data"})
    (root / "results" / "smoke" / "dl19").mkdir(parents=True)
    (root / "results" / "smoke" / "dl19" / "bm25.json").write_text(json.dumps(rec))
    (root / "outputs" / "figures" / "smoke").mkdir(parents=True)  # where run_all.sh's notebooks draw
    (root / "outputs" / "figures" / "smoke" / "a.png").write_bytes(b"\x89PNG" + b"0" * 1000)
    (root / "figures" / "smoke").mkdir(parents=True)
    (root / "figures" / "smoke" / "old.png").write_bytes(b"\x89PNG")  # what an earlier publication left
    return root


def reference_run(root, *args):
    return subprocess.run([sys.executable, str(root / "scripts" / "reference_run.py"), "--profile", "smoke",
                           "--from-existing", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_script_publishes_cleaned_notebooks_results_and_time_lines(tmp_path):
    root = fake_checkout(tmp_path)
    r = reference_run(root)
    assert r.returncode == 0, r.stderr
    folder = root / "docs" / "reference-run"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "01_x.ipynb", "README.md", "results/smoke/dl19/bm25.json", "timings.json"]
    line = "**Time:** about 61 s on smoke (2 CPU cores; the reference run, docs/reference-run/)."
    published = nbformat.read(folder / "01_x.ipynb", as_version=4)
    assert line in published.cells[0].source.split("\n") and "widgets" not in published.metadata
    assert str(root) not in (folder / "01_x.ipynb").read_text()
    source = nbformat.read(root / "notebooks" / "01_x.ipynb", as_version=4)
    assert line in source.cells[0].source.split("\n") and not source.cells[3].outputs
    rec = json.loads((folder / "results" / "smoke" / "dl19" / "bm25.json").read_text())
    assert rec["metrics"]["nDCG@10"] == 0.125 and rec["provenance"]["config"] == {"data": "data"}
    page = (root / "RESULTS.md").read_text()  # built from the published folder: its numbers, its one notebook
    check_ranking_tables(page, folder / "results" / "smoke")
    assert parse_ranking_tables(page) == {"dl19": [("", [
        {"system": "bm25", "queries": "2", "nDCG@1": "50.00", "nDCG@5": "25.00", "nDCG@10": "12.50"}])]}
    assert "| 01_x.ipynb | 61 |" in page and "| all | 61 |" in page
    # the run's figures, published byte for byte in place of the earlier ones
    assert sorted(p.name for p in (root / "figures" / "smoke").iterdir()) == ["a.png"]
    assert (root / "figures" / "smoke" / "a.png").read_bytes() == (root / "outputs" / "figures" / "smoke" / "a.png").read_bytes()
    assert sorted(p.name for p in (root / "figures").iterdir()) == ["smoke"]  # no staging folder left behind


def test_script_refuses_a_result_file_from_an_earlier_run(tmp_path):
    root = fake_checkout(tmp_path, finished="2025-12-31T23:00:00+00:00")  # the run ended 2026-01-01 00:10, took 61 s
    r = reference_run(root)
    assert r.returncode != 0 and "results/smoke/dl19/bm25.json (finished 2025-12-31T23:00:00+00:00)" in r.stderr
    assert not (root / "docs" / "reference-run").exists() and not (root / "RESULTS.md").exists()
    assert [p.name for p in (root / "docs").iterdir()] == []  # no staging folder left behind


def test_script_refuses_more_than_10_mb_of_notebooks_and_figures(tmp_path):
    root = fake_checkout(tmp_path)
    (root / "outputs" / "figures" / "smoke" / "big.png").write_bytes(b"0" * (10 * 2**20))
    r = reference_run(root)
    assert r.returncode != 0 and "over the 10 MB limit" in r.stderr and "big.png 10.0 MB" in r.stderr
    assert not (root / "RESULTS.md").exists()
    assert sorted(p.name for p in (root / "figures" / "smoke").iterdir()) == ["old.png"]  # untouched


def test_script_refuses_a_figure_from_an_earlier_run_and_a_run_without_figures(tmp_path):
    root = fake_checkout(tmp_path)
    old = root / "outputs" / "figures" / "smoke" / "gone_panel.png"  # a panel an earlier run drew, this one not
    old.write_bytes(b"\x89PNG")
    os.utime(old, (1767225000, 1767225000))  # 2025-12-31 23:50 UTC; the run ended 2026-01-01 00:10 after 61 s
    r = reference_run(root)
    assert r.returncode != 0 and "figures older than the run" in r.stderr and "gone_panel.png" in r.stderr
    shutil.rmtree(root / "outputs" / "figures")
    r = reference_run(root)
    assert r.returncode != 0 and "no figures under" in r.stderr
    assert not (root / "RESULTS.md").exists() and (root / "figures" / "smoke" / "old.png").is_file()


def test_script_needs_the_time_line_before_running_anything(tmp_path):
    root = fake_checkout(tmp_path)
    nb = nbformat.read(root / "notebooks" / "01_x.ipynb", as_version=4)
    nb.cells[0].source = "# 01"
    nbformat.write(nb, root / "notebooks" / "01_x.ipynb")
    r = subprocess.run([sys.executable, str(root / "scripts" / "reference_run.py"), "--profile", "smoke"], cwd=root,
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    # stopped before starting ./run_all.sh (the fake checkout has none: starting it would fail otherwise)
    assert r.returncode != 0 and "notebooks/01_x.ipynb: the first cell has 0 lines starting with '**Time:**'" in r.stderr


def test_run_all_writes_each_notebooks_wall_time(tmp_path):
    """run_all.sh itself, on a checkout whose two notebooks sleep: timings.json names both, with their seconds."""
    root = tmp_path / "kit"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "run_all.sh", root)
    (root / "scripts" / "setup_env.sh").write_text("#!/bin/sh\n")  # the environment is ours already
    (root / "scripts" / "setup_env.sh").chmod(0o755)
    (root / ".venv").symlink_to(ROOT / ".venv")
    (root / "notebooks").mkdir()
    for name, seconds in (("01_a.ipynb", 0), ("02_b.ipynb", 2)):
        nb = new_notebook(cells=[new_code_cell(f"import time\ntime.sleep({seconds})")], metadata={
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
        nbformat.write(nb, root / "notebooks" / name)
    r = subprocess.run(["./run_all.sh", "--profile", "smoke"], cwd=root, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "no result files" in r.stderr  # the report at the end finds none: this checkout has no results
    t = json.loads((root / "outputs" / "smoke" / "timings.json").read_text())
    assert sorted(t["notebooks"]) == ["01_a.ipynb", "02_b.ipynb"] and t["profile"] == "smoke"
    assert t["notebooks"]["02_b.ipynb"] >= 2 and t["total_seconds"] >= sum(t["notebooks"].values())
