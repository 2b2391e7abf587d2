"""BEIR (the paper profile): what can be checked without the network — the offline message, the saved-set round
trip notebooks 02 and 04 read, and the sets' place in the results contract and the evaluation tables."""
import pytest

from dearlib.core.offline import OfflineError
from dearlib.core.records import Candidates, Dataset, Passage, Query
from dearlib.retrieval import beir
from dearlib.evaluation import results, tables


def test_offline_gives_one_clear_message(monkeypatch):
    monkeypatch.setenv("DEAR_OFFLINE", "1")
    with pytest.raises(OfflineError, match="BEIR scifact .*cannot be reached.*Offline, use the `mini` or `smoke` profile"):
        beir.load_beir("scifact")
    with pytest.raises(ValueError, match="unknown BEIR set 'msmarco'"):
        beir.load_beir("msmarco")


def test_saved_set_round_trip(tmp_path):
    cands = [Candidates(Query("q1", "covid masks"), (Passage("d1", "masks reduce spread", "Masks"), Passage("d2", "unrelated")), (9.5, 3.0))]
    ds = Dataset("scifact", cands, {"q1": {"d1": 2, "d2": 0}})
    beir.save(ds, tmp_path)
    back = beir.load_saved("scifact", tmp_path)
    assert back.name == "scifact" and back.qrels == ds.qrels
    assert [(p.docid, p.title, p.text) for p in back.candidates[0].passages] == [("d1", "Masks", "masks reduce spread"), ("d2", "", "unrelated")]
    assert back.candidates[0].scores == (9.5, 3.0)
    with pytest.raises(FileNotFoundError, match="notebook 01 retrieves BEIR nfcorpus"):
        beir.load_saved("nfcorpus", tmp_path)


def test_beir_sets_are_in_the_contract_and_the_tables(tmp_path):
    assert set(beir.SETS) <= set(results.DATASETS)
    assert list(tables.BEIR.values()) == ["Covid", "NFCorpus", "Touche", "DBPedia", "SciFact", "News", "Robust04", "Signal"]
    table = tables.beir_table(tables.Collection.load(tmp_path, "mini", 0))
    assert set(table["status"]) == {"not run in this profile"} and len(table) == 8
