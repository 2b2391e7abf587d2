"""The reproduction log's line: every field read from a run's timings and result files."""
import json

import pytest

from conftest import ROOT
from dearlib.publish import reproductions


def write(results, dataset, system, ndcg10, device="cpu: x86_64"):
    (results / "mini" / dataset).mkdir(parents=True, exist_ok=True)
    rec = {"dataset": dataset, "system": system, "profile": "mini", "metrics": {"nDCG@10": ndcg10},
           "per_query": {"nDCG@10": {"q1": ndcg10}}, "queries_without_run": [], "provenance": {"device": device}}
    (results / "mini" / dataset / f"{system}.json").write_text(json.dumps(rec))


RUN = {"notebooks": {"02_stage1_distillation.ipynb": 580.4, "01_candidate_retrieval.ipynb": 18}, "total_seconds": 599,
       "profile": "mini", "git_commit": "7c422d97598fe9a2ec4a597c6349ba8d198e0f72-dirty", "date": "2026-11-29T20:18:20+00:00",
       "machine": {"cpu_cores": 2, "cpu_model": "AMD EPYC", "memory_gib": 23.5, "os": "Linux", "python": "3.11.7"}}


def test_the_line_holds_the_run_and_both_systems_per_set(tmp_path):
    for dataset, system, v in (("dl20", "dear-p", 0.4698), ("dl19", "dear-p", 0.50524), ("dl19", "dear-l", 0.5036),
                               ("dl19", "bm25", 0.5058)):
        write(tmp_path, dataset, system, v)
    assert reproductions.line(RUN, tmp_path) == (
        "| 2026-11-29 | `7c422d9759-dirty` | mini | CPU AMD EPYC | 2 | 599 | 01 18, 02 580 | dl19 50.52, dl20 46.98 "
        "| dl19 50.36 |")
    assert reproductions.HEADER.split("\n")[0].count("|") == reproductions.line(RUN, tmp_path).count("|")


def test_a_gpu_run_names_the_gpu_and_an_unrun_system_says_so(tmp_path):
    write(tmp_path, "dl19", "dear-p", 0.745, device="cuda: NVIDIA H200")
    cells = reproductions.line(RUN, tmp_path).split(" | ")
    assert cells[3] == "GPU NVIDIA H200" and cells[-2] == "dl19 74.50" and cells[-1] == "not run |"


def test_the_command_reads_a_timings_file_and_the_reference_run(tmp_path, capsys):
    write(tmp_path / "results", "dl19", "dear-p", 0.5)
    (tmp_path / "timings.json").write_text(json.dumps(RUN))
    assert reproductions.main([str(tmp_path / "timings.json"), "--results", str(tmp_path / "results")]) == 0
    assert capsys.readouterr().out.startswith("| 2026-11-29 | `7c422d9759-dirty` | mini |")
    reference = ROOT / "docs" / "reference-run"
    assert reproductions.main(["--reference", str(reference)]) == 0
    line = capsys.readouterr().out.strip()
    assert line in (ROOT / "docs" / "reproductions.md").read_text()  # the kit's own run is in the log
    with pytest.raises(SystemExit):
        reproductions.main([])
