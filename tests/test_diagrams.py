"""The pipeline picture and its Mermaid twin carry the profile's numbers (hand-set here, counted by hand)."""
import copy
import re
import struct

from matplotlib.text import Text

from conftest import ROOT
from dearlib.core.config import load_config
from dearlib.publish import diagrams


def texts(fig):
    return "\n".join(t.get_text() for t in fig.findobj(Text))


def odd_config():
    cfg = copy.deepcopy(load_config("smoke"))
    cfg["retrieval"]["depth"], cfg["stage1"]["eval_depth"] = 77, 23
    cfg["stage2"]["inference"].update(stage1_depth=23, window=7, step=3, rank_end=13)
    cfg["stage2_data"]["window_size"] = 9
    return cfg


def test_the_figure_draws_the_configs_numbers():
    drawn = texts(diagrams.pipeline(odd_config()))
    for expected in ("profile smoke", "top 77", "reranks the top 23", "window 7, step 3", "over Stage 1's top 13",
                     "windows of 9", "teacher-guided generator"):
        assert expected in drawn, expected
    assert "3 windows per query" in drawn  # by hand: ranks (6, 13), (3, 10), (0, 7)
    assert "cascade" not in drawn  # notebook 02 and the cascade rerank the same depth


def test_the_teacher_box_names_the_profiles_loss():
    cfg = odd_config()
    cfg["stage1"]["loss"] = "ce+ranknet-binary+kl"
    assert "loss: CE + RankNet-binary + KL" in texts(diagrams.pipeline(cfg))
    assert "loss: CE + KL" in texts(diagrams.pipeline(load_config("paper")))  # the released default, not the abstract's hybrid
    assert diagrams.loss_text("lambdarank+kl") == "lambdarank + KL"  # a part it does not know, written as it is


def test_a_cascade_depth_apart_from_stage1s_is_named():
    cfg = odd_config()
    cfg["stage2"]["inference"]["stage1_depth"] = 40
    assert "reranks the top 23 (cascade: 40)" in texts(diagrams.pipeline(cfg))


def test_without_a_config_the_labels_are_generic():
    drawn = texts(diagrams.pipeline())
    assert "top k" in drawn and "window w, step s" in drawn and "profile" not in drawn
    assert not re.search(r"\d+ windows? per query", drawn)


def test_docs_hold_the_mini_profiles_mermaid_and_the_png():
    doc = (ROOT / "docs" / "pipeline.md").read_text()
    assert diagrams.mermaid(load_config("mini")) in doc  # regenerate with: python -m dearlib.publish.diagrams
    png = (ROOT / "figures" / "pipeline.png").read_bytes()
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and width >= 900 and width > 2 * height
