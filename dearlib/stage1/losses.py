"""Stage-1 training losses over groups of passages: each a small function of (batch, group) scores.

A *group* is one query's passages: by convention the positive first, then hard negatives. Every function takes
`student` scores of shape (batch, group), optionally `teacher` scores of the same shape, and a boolean `mask` of
valid members (False marks padding when groups are ragged), and returns a scalar mean over the batch.

- `softmax_ce`: cross-entropy of the positive (index 0) against its group, the released code's default `main`.
- `ranknet`: pairwise logistic loss with soft targets sigmoid(t_i - t_j) from teacher scores (the released code's
  `ranknet_teacher`), or hard targets 1/0/0.5 from labels.
- `ranknet_binary`: the released code's RankNet on binary labels (`ranknet_binary`): targets sigmoid(l_i - l_j) of
  labels 1 (the positive) and 0, so 0.731 for positive-over-negative pairs and 0.5 between negatives.
- `listnet`: cross-entropy between the teacher's and the student's top-one distributions.
- `lambdarank`: RankNet pairs weighted by |delta nDCG| of swapping them (an ablation option).
- `kl_distill`: T^2 * KL(softmax(teacher/T) || softmax(student/T)), Hinton's scaling so gradients keep their size.
- `dear_loss`: DeAR's combination (1 - alpha) * main + alpha * kl_distill, `main` named by the loss: among them
  two RankNet hybrids that used to share a name, "ce+ranknet+kl" (the kit's: RankNet on the teacher's scores) and
  "ce+ranknet-binary+kl" (the released `ranknet_binary_softmax_ce`, DataScienceUIBK/DeAR-Reranking
  `pointwise_reranker/modeling.py` with `rank_loss.py`: RankNet on binary labels).
- `toy_losses`, `soft_targets`: every loss, and the soft targets under the teacher scale and T, on one toy group.

These functions do no model calls and no reduction across devices (the Trainer and accelerate do that).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

NEG = -1e4  # the score given to padded members; exp(NEG) underflows to 0 in float32 and bf16


def _masked(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return scores if mask is None else scores.masked_fill(~mask, NEG)


def softmax_ce(student: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """-log softmax(student)[0]: the positive is the first member of each group."""
    return -F.log_softmax(_masked(student, mask), dim=-1)[:, 0].mean()


def _pair_mask(mask: torch.Tensor | None, student: torch.Tensor) -> torch.Tensor:
    b, g = student.shape
    pairs = ~torch.eye(g, dtype=torch.bool, device=student.device).expand(b, g, g)
    if mask is not None:
        pairs = pairs & mask[:, :, None] & mask[:, None, :]
    return pairs


def ranknet(student: torch.Tensor, teacher: torch.Tensor | None = None, labels: torch.Tensor | None = None,
            mask: torch.Tensor | None = None) -> torch.Tensor:
    """Pairwise logistic loss over all ordered pairs (i, j), i != j, of valid members.

    Targets are sigmoid(t_i - t_j) from `teacher` scores (soft) or 1/0/0.5 from `labels` (hard); with neither,
    the positive-first convention gives labels (1 for index 0, 0 elsewhere).
    """
    if teacher is not None:
        target = torch.sigmoid(teacher[:, :, None] - teacher[:, None, :])
    else:
        if labels is None:
            labels = torch.zeros_like(student)
            labels[:, 0] = 1.0
        diff = labels[:, :, None] - labels[:, None, :]
        target = (torch.sign(diff) + 1) / 2
    logits = student[:, :, None] - student[:, None, :]
    pairs = _pair_mask(mask, student)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    per_query = (loss * pairs).sum((1, 2)) / pairs.sum((1, 2)).clamp(min=1)
    return per_query.mean()


def ranknet_binary(student: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The released RankNet on binary labels (rank_loss.py, `RankLoss.rank_net` fed 1 for the positive and 0 for the
    negatives, modeling.py): soft targets sigmoid(l_i - l_j). Averaging over ordered pairs equals the released
    mean over i < j, since a pair and its reverse have the same loss."""
    labels = torch.zeros_like(student)
    labels[:, 0] = 1.0
    return ranknet(student, teacher=labels, mask=mask)


def listnet(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """ListNet: cross-entropy from the teacher's top-one probabilities to the student's."""
    p_teacher = F.softmax(_masked(teacher, mask), dim=-1)
    return -(p_teacher * F.log_softmax(_masked(student, mask), dim=-1)).sum(-1).mean()


def lambdarank(student: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """RankNet on label-ordered pairs, each weighted by |delta nDCG| of swapping the pair in the student's ranking."""
    s = _masked(student, mask).detach()
    ranks = s.argsort(-1, descending=True).argsort(-1).float()  # 0-based rank of each member
    discount = 1.0 / torch.log2(ranks + 2.0)
    gains = (2.0 ** labels - 1.0) * (mask if mask is not None else 1.0)
    ideal = (gains.sort(-1, descending=True).values / torch.log2(torch.arange(gains.shape[-1], device=gains.device) + 2.0)).sum(-1, keepdim=True)
    delta = ((gains[:, :, None] - gains[:, None, :]) * (discount[:, :, None] - discount[:, None, :])).abs() / ideal.clamp(min=1e-9)[:, :, None]
    better = (labels[:, :, None] > labels[:, None, :]) & _pair_mask(mask, student)
    logits = student[:, :, None] - student[:, None, :]
    loss = F.softplus(-logits) * delta * better
    return (loss.sum((1, 2)) / better.sum((1, 2)).clamp(min=1)).mean()


def kl_distill(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 2.0,
               mask: torch.Tensor | None = None) -> torch.Tensor:
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)), averaged over the batch."""
    log_p_student = F.log_softmax(_masked(student, mask) / temperature, dim=-1)
    log_p_teacher = F.log_softmax(_masked(teacher, mask) / temperature, dim=-1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student))
    if mask is not None:
        kl = kl * mask
    return temperature ** 2 * kl.sum(-1).mean()


LOSSES = ("ce", "ce+kl", "ce+ranknet+kl", "ce+ranknet-binary+kl", "ranknet", "listnet", "lambdarank+kl")


def dear_loss(student: torch.Tensor, teacher: torch.Tensor | None, loss: str = "ce+kl", alpha: float = 0.1,
              temperature: float = 2.0, mask: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
    """The Stage-1 objective by name (see LOSSES):

    "ce": softmax_ce alone; "ce+kl": (1 - alpha) CE + alpha KL (the released default); "ce+ranknet+kl": CE,
    RankNet and KL, as the paper's abstract describes the method ("a hybrid of cross-entropy, RankNet, and KL
    divergence losses", arXiv:2508.16998), main = 0.5 CE + 0.5 RankNet (soft teacher targets), weighed as
    the released code's hybrid option; "ce+ranknet-binary+kl": that released hybrid itself
    (`ranknet_binary_softmax_ce`), main = 0.5 CE + 0.5 `ranknet_binary`; "ranknet": RankNet on teacher scores
    alone; "listnet": ListNet on teacher scores; "lambdarank+kl": (1 - alpha) LambdaRank + alpha KL.
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
    if loss == "ce":
        return softmax_ce(student, mask)
    if teacher is None:
        raise ValueError(f"loss {loss!r} needs teacher scores")
    if loss == "ranknet":
        return ranknet(student, teacher=teacher, mask=mask)
    if loss == "listnet":
        return listnet(student, teacher, mask)
    if loss == "ce+kl":
        main = softmax_ce(student, mask)
    elif loss == "ce+ranknet+kl":
        main = 0.5 * softmax_ce(student, mask) + 0.5 * ranknet(student, teacher=teacher, mask=mask)
    elif loss == "ce+ranknet-binary+kl":  # modeling.py: beta = 0.5 between the binary RankNet and the CE
        main = 0.5 * ranknet_binary(student, mask) + 0.5 * softmax_ce(student, mask)
    else:  # lambdarank+kl
        if labels is None:
            labels = torch.zeros_like(student)
            labels[:, 0] = 1.0
        main = lambdarank(student, labels, mask)
    return (1 - alpha) * main + alpha * kl_distill(student, teacher, temperature, mask)


# ------------------------------------------------------------------------------------------ a toy group to read
TOY_COSINES = (0.62, 0.48, 0.35, 0.20)  # a positive and three negatives, cosines as a bi-encoder teacher gives them
TOY_STUDENTS = {"agrees with the teacher": (3.0, 1.5, 0.0, -1.5), "reversed": (-1.5, 0.0, 1.5, 3.0),
                "flat": (0.0, 0.0, 0.0, 0.0)}


def toy_losses(teacher=None, students=None, alpha: float = 0.1, temperature: float = 2.0):
    """Each loss of this module on one group (positive first), for each student score vector: a DataFrame.

    `teacher` defaults to 20 x TOY_COSINES (mini's teacher scale), `students` to TOY_STUDENTS. The last two
    columns are `dear_loss` with "ce+kl" and "ce+ranknet+kl" at the given alpha and T, as training computes them.
    """
    import pandas as pd

    t = torch.tensor([teacher if teacher is not None else [20 * c for c in TOY_COSINES]], dtype=torch.float32)
    rows = {}
    for name, s in (students or TOY_STUDENTS).items():
        s = torch.tensor([s], dtype=torch.float32)
        rows[name] = {"softmax CE": softmax_ce(s), "RankNet (soft teacher targets)": ranknet(s, teacher=t),
                      f"T^2 KL (T={temperature:g})": kl_distill(s, t, temperature), "ListNet": listnet(s, t),
                      "ce+kl": dear_loss(s, t, "ce+kl", alpha, temperature),
                      "ce+ranknet+kl": dear_loss(s, t, "ce+ranknet+kl", alpha, temperature)}
    return pd.DataFrame({k: {m: v.item() for m, v in r.items()} for k, r in rows.items()}).T


def soft_targets(cosines=TOY_COSINES, scale: float = 20.0, temperatures=(1.0, 2.0, 4.0)):
    """softmax(teacher / T) over one group, for raw cosines and for `scale` x cosines: what KL asks the student to match."""
    import pandas as pd

    rows = {}
    for label, factor in (("cosine", 1.0), (f"{scale:g} x cosine", scale)):
        for T in temperatures:
            p = F.softmax(torch.tensor(cosines, dtype=torch.float64) * factor / T, dim=-1)
            rows[(label, f"T={T:g}")] = p.tolist()
    cols = ["positive"] + [f"negative {i}" for i in range(1, len(cosines))]
    index = pd.MultiIndex.from_tuples(rows, names=["teacher scores", "temperature"])
    return pd.DataFrame(list(rows.values()), index=index, columns=cols)
