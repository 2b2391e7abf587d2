"""Stage-1 losses against hand-computed values and the properties the method relies on."""
import math

import numpy as np
import pytest
import torch

from dearlib.stage1 import losses


def t(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_softmax_ce_by_hand():
    s = t([2.0, 1.0, 0.0])
    expected = -math.log(math.exp(2) / (math.exp(2) + math.exp(1) + 1))
    assert losses.softmax_ce(s).item() == pytest.approx(expected, rel=1e-6)


def test_ranknet_by_hand_with_hard_labels():
    # Two members, the positive first: one informative pair each way, log(1 + e^-(s0 - s1)) and log(1 + e^(s1 - s0)).
    s = t([1.0, 3.0])
    pair = math.log(1 + math.exp(2.0))
    assert losses.ranknet(s).item() == pytest.approx(pair, rel=1e-6)


def test_ranknet_prefers_the_right_order():
    right, reversed_ = t([3.0, 2.0, 1.0, 0.0]), t([0.0, 1.0, 2.0, 3.0])
    teacher = t([3.0, 2.0, 1.0, 0.0])
    assert losses.ranknet(right).item() < losses.ranknet(reversed_).item()
    assert losses.ranknet(right, teacher=teacher).item() < losses.ranknet(reversed_, teacher=teacher).item()


def test_ranknet_soft_targets_are_sigmoid_of_teacher_differences():
    s, teacher = t([0.5, -0.5]), t([1.0, 0.0])
    p = 1 / (1 + math.exp(-1.0))  # sigmoid(t0 - t1)
    bce = -(p * math.log(1 / (1 + math.exp(-1.0))) + (1 - p) * math.log(1 - 1 / (1 + math.exp(-1.0))))
    assert losses.ranknet(s, teacher=teacher).item() == pytest.approx(bce, rel=1e-5)


def test_kl_is_zero_when_student_equals_teacher_and_scales_with_t_squared():
    x = t([1.0, -2.0, 0.5], [0.0, 0.3, 2.0])
    assert losses.kl_distill(x, x, temperature=2.0).item() == pytest.approx(0.0, abs=1e-7)
    student, teacher = t([1.0, 0.0, 0.0]), t([0.0, 2.0, 1.0])
    p = torch.softmax(teacher / 3.0, -1)
    q = torch.softmax(student / 3.0, -1)
    kl = (p * (p.log() - q.log())).sum().item()
    assert losses.kl_distill(student, teacher, temperature=3.0).item() == pytest.approx(9 * kl, rel=1e-5)


def test_padded_members_change_nothing():
    s, teacher = t([2.0, 0.5, -1.0]), t([1.0, 0.0, 0.2])
    pad_s, pad_t = t([2.0, 0.5, -1.0, 9.0]), t([1.0, 0.0, 0.2, 9.0])
    mask = torch.tensor([[True, True, True, False]])
    for name in losses.LOSSES:
        full = losses.dear_loss(s, teacher, loss=name)
        padded = losses.dear_loss(pad_s, pad_t, loss=name, mask=mask)
        assert padded.item() == pytest.approx(full.item(), rel=1e-5), name


def test_dear_loss_combines_with_alpha():
    s, teacher = t([0.2, 1.0, -0.3]), t([2.0, 0.1, 0.0])
    ce, kl = losses.softmax_ce(s), losses.kl_distill(s, teacher, 2.0)
    got = losses.dear_loss(s, teacher, loss="ce+kl", alpha=0.1, temperature=2.0)
    assert got.item() == pytest.approx((0.9 * ce + 0.1 * kl).item(), rel=1e-6)
    hybrid = losses.dear_loss(s, teacher, loss="ce+ranknet+kl", alpha=0.1)
    main = 0.5 * ce + 0.5 * losses.ranknet(s, teacher=teacher)
    assert hybrid.item() == pytest.approx((0.9 * main + 0.1 * kl).item(), rel=1e-6)


def test_listnet_minimum_is_at_the_teacher_distribution():
    teacher = t([2.0, 0.0, -1.0])
    at_teacher = losses.listnet(teacher.clone(), teacher).item()
    entropy = -(torch.softmax(teacher, -1) * torch.log_softmax(teacher, -1)).sum().item()
    assert at_teacher == pytest.approx(entropy, rel=1e-6)
    assert losses.listnet(t([0.0, 2.0, -1.0]), teacher).item() > at_teacher


def ndcg(labels, order):
    """nDCG of a ranking (member indices, best first) with exponential gains, by the textbook formula."""
    dcg = sum((2 ** labels[i] - 1) / math.log2(r + 2) for r, i in enumerate(order))
    ideal = sum((2 ** g - 1) / math.log2(r + 2) for r, g in enumerate(sorted(labels, reverse=True)))
    return dcg / ideal


def test_lambdarank_weights_pairs_by_ndcg_change():
    labels, scores = [2, 0, 1], [1.0, 3.0, 2.0]  # the student ranks member 1 (label 0) first: order 1, 2, 0
    order = sorted(range(3), key=lambda i: -scores[i])
    expected, pairs = 0.0, [(i, j) for i in range(3) for j in range(3) if labels[i] > labels[j]]
    for i, j in pairs:  # each label-ordered pair: RankNet's term times |nDCG change| when i and j swap places
        swapped = [j if m == i else i if m == j else m for m in order]
        weight = abs(ndcg(labels, swapped) - ndcg(labels, order))
        expected += weight * math.log(1 + math.exp(-(scores[i] - scores[j])))
    got = losses.lambdarank(t(scores), t([float(l) for l in labels])).item()
    assert got == pytest.approx(expected / len(pairs), rel=1e-5)
    assert got != pytest.approx(losses.ranknet(t(scores), teacher=None).item(), rel=1e-3)  # not plain RankNet
    right = t([3.0, 1.0, 2.0])
    assert losses.lambdarank(right, t([2.0, 0.0, 1.0])).item() < got


def test_unknown_loss_and_missing_teacher():
    with pytest.raises(ValueError, match="unknown loss"):
        losses.dear_loss(t([1.0, 0.0]), None, loss="hinge")
    with pytest.raises(ValueError, match="needs teacher scores"):
        losses.dear_loss(t([1.0, 0.0]), None, loss="ce+kl")


def test_pair_masks_follow_the_scores_device():
    # a GPU run found RankNet building its pair mask on the CPU beside CUDA scores; the meta device stands in here
    student = torch.zeros(2, 3, device="meta")
    mask = torch.ones(2, 3, dtype=torch.bool, device="meta")
    assert losses.ranknet(student, teacher=torch.zeros(2, 3, device="meta"), mask=mask).device.type == "meta"


def _softmax(x):
    e = np.exp(np.asarray(x, dtype=float) - np.max(x))
    return e / e.sum()


def test_toy_losses_match_hand_computed_values():
    t = 20 * np.array(losses.TOY_COSINES)
    students = {"s": [3.0, 1.5, 0.0, -1.5], "flat": [0.0, 0.0, 0.0, 0.0]}
    table = losses.toy_losses(students=students, alpha=0.1, temperature=2.0)
    for name, s in students.items():
        s = np.array(s)
        ce = -np.log(_softmax(s)[0])
        sig = lambda x: 1 / (1 + np.exp(-x))
        pairs = [(i, j) for i in range(4) for j in range(4) if i != j]  # all ordered pairs, soft targets
        rn = np.mean([-(sig(t[i] - t[j]) * np.log(sig(s[i] - s[j])) + (1 - sig(t[i] - t[j])) * np.log(1 - sig(s[i] - s[j])))
                      for i, j in pairs])
        pt, ps = _softmax(t / 2), _softmax(s / 2)
        kl = 4 * np.sum(pt * np.log(pt / ps))
        listnet = -np.sum(_softmax(t) * np.log(_softmax(s)))
        row = table.loc[name]
        assert row["softmax CE"] == pytest.approx(ce, rel=1e-5)
        assert row["RankNet (soft teacher targets)"] == pytest.approx(rn, rel=1e-5)
        assert row["T^2 KL (T=2)"] == pytest.approx(kl, rel=1e-4)
        assert row["ListNet"] == pytest.approx(listnet, rel=1e-5)
        assert row["ce+kl"] == pytest.approx(0.9 * ce + 0.1 * kl, rel=1e-4)
        assert row["ce+ranknet+kl"] == pytest.approx(0.45 * ce + 0.45 * rn + 0.1 * kl, rel=1e-4)
    assert table.loc["flat", "softmax CE"] == pytest.approx(math.log(4), rel=1e-6)  # a flat group: 1 in 4


def test_soft_targets_follow_the_scale_and_the_temperature():
    table = losses.soft_targets((0.5, 0.25, 0.0), scale=20.0, temperatures=(1.0, 4.0))
    assert list(table.columns) == ["positive", "negative 1", "negative 2"]
    e = [math.exp(x) for x in (0.5, 0.25, 0.0)]
    assert list(table.loc[("cosine", "T=1")]) == pytest.approx([v / sum(e) for v in e])
    e = [math.exp(20 * x / 4) for x in (0.5, 0.25, 0.0)]  # 20 x cosine at T = 4: exp(2.5), exp(1.25), exp(0)
    assert list(table.loc[("20 x cosine", "T=4")]) == pytest.approx([v / sum(e) for v in e])


def test_released_ranknet_hybrid_by_hand():
    """The released `ranknet_binary_softmax_ce` (DataScienceUIBK/DeAR-Reranking, pointwise_reranker/modeling.py:90-96,
    rank_loss.py:12-23) on one group of two, positive first (train_n_passages 2), by hand."""
    s, teacher, alpha, T = t([2.0, 0.0]), t([1.0, 3.0]), 0.1, 2.0
    sig = lambda x: 1 / (1 + math.exp(-x))
    p = sig(1.0 - 0.0)  # rank_loss.py:19: target sigmoid(label_0 - label_1), labels 1 and 0
    rank = -(p * math.log(sig(2.0)) + (1 - p) * math.log(1 - sig(2.0)))  # BCE with logits on s_0 - s_1, one pair
    ce = math.log(1 + math.exp(-2.0))
    main = 0.5 * rank + 0.5 * ce
    pt = [math.exp(x / T) / (math.exp(1 / T) + math.exp(3 / T)) for x in (1.0, 3.0)]
    ps = [math.exp(x / T) / (math.exp(2 / T) + 1) for x in (2.0, 0.0)]
    kl = T ** 2 * sum(a * math.log(a / b) for a, b in zip(pt, ps))
    assert losses.ranknet_binary(s).item() == pytest.approx(rank, rel=1e-6)
    assert rank == pytest.approx(0.664811, abs=1e-6)  # 0.7311 x 0.1269 + 0.2689 x 2.1269
    got = losses.dear_loss(s, teacher, "ce+ranknet-binary+kl", alpha, T).item()
    assert got == pytest.approx((1 - alpha) * main + alpha * kl, rel=1e-6)
    assert got == pytest.approx(0.541129, abs=1e-6)
    # the kit's hybrid, RankNet on the teacher's scores, is another loss under its own name
    assert losses.dear_loss(s, teacher, "ce+ranknet+kl", alpha, T).item() != pytest.approx(got, abs=1e-2)
