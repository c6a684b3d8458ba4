"""Ensembles of seeds: soft votes, random tie-breaks, and what theory says they gain."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from seedstudy.stats import agreement, consistency, ensembles


def _independent_seeds(n_seeds: int, n_examples: int, sigma: float, rng: np.random.Generator):
    """Binary predictions of independent seeds: logit = m_i + sigma * noise, so a seed predicts 1
    with probability Phi(m_i / sigma); an average of two seeds' probabilities exceeds 1/2
    exactly when their logits sum above 0, so a soft vote of two predicts 1 with Phi(sqrt(2) m_i / sigma)."""
    m = rng.normal(size=n_examples)
    logits = m + sigma * rng.normal(size=(n_seeds, n_examples))
    prob1 = 1 / (1 + np.exp(-logits))
    probs = np.stack([1 - prob1, prob1], axis=2)
    return (logits > 0).astype(int), probs, m


def _agreement_of(p1: np.ndarray) -> float:
    """Expected pairwise agreement of two independent predictors that each say 1 with p1."""
    return float(np.mean(p1 ** 2 + (1 - p1) ** 2))


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(0)
    preds, probs, m = _independent_seeds(20, 4000, 1.0, rng)
    labels = (m > 0).astype(int)
    return preds, probs, labels, m


def test_soft_votes_of_two_independent_seeds_gain_what_theory_says(simulated):
    preds, probs, labels, m = simulated
    curve = ensembles.ensemble_curve(preds, labels, probs, vote="soft", splits=5)
    assert curve[1]["pairwise_agreement"] == pytest.approx(_agreement_of(norm.cdf(m)), abs=0.01)
    assert curve[2]["pairwise_agreement"] == pytest.approx(_agreement_of(norm.cdf(np.sqrt(2) * m)), abs=0.01)
    assert curve[2]["accuracy"] > curve[1]["accuracy"]  # the gain is real: averaging cuts the noise


def test_hard_votes_of_two_with_random_ties_gain_nothing_but_a_fixed_tie_rule_does(simulated):
    preds, probs, labels, _ = simulated
    curve = ensembles.ensemble_curve(preds, labels, vote="hard", splits=5)
    # two members, ties at random: the vote is one member picked at random, so its distribution
    # is a single seed's and two such ensembles agree exactly as often as two seeds do
    assert curve[2]["pairwise_agreement"] == pytest.approx(curve[1]["pairwise_agreement"], abs=0.01)
    assert curve[2]["accuracy"] == pytest.approx(curve[1]["accuracy"], abs=0.01)
    lowest = np.stack([agreement.vote_counts(preds[i:i + 2], 2).argmax(axis=1) for i in range(0, 20, 2)])
    assert consistency.pairwise_agreement(lowest) > curve[1]["pairwise_agreement"] + 0.03  # the old artefact


def test_votes_by_hand_and_bad_input():
    probs = np.array([[[0.9, 0.1], [0.4, 0.6]], [[0.2, 0.8], [0.45, 0.55]]])  # 2 seeds, 2 examples
    assert ensembles.soft_vote(probs).tolist() == [0, 1]  # mean 0.55/0.45 and 0.425/0.575
    tied = [agreement.majority_vote([[0], [1]], 2, seed=s)[0] for s in range(200)]
    assert 0.35 < np.mean(tied) < 0.65  # a tie goes either way
    assert agreement.majority_vote([[0, 2], [0, 2], [1, 2]], 3).tolist() == [0, 2]
    preds = np.array([[0, 1], [1, 1]])
    with pytest.raises(ValueError, match="needs the runs' class probabilities"):
        ensembles.ensemble_curve(preds, [0, 1])
    with pytest.raises(ValueError, match="probs must be shaped"):
        ensembles.ensemble_curve(preds, [0, 1], np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="bad vote"):
        ensembles.ensemble_curve(preds, [0, 1], vote="median")


def test_single_seeds_are_the_k1_row():
    preds = np.array([[0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1]])
    probs = np.stack([1.0 - preds, preds.astype(float)], axis=2)
    curve = ensembles.ensemble_curve(preds, [0, 1, 1, 0], probs)
    assert curve[1]["pairwise_agreement"] == pytest.approx(consistency.con(preds))
    assert curve[1]["all_agree"] == pytest.approx(consistency.all_agree(preds)) and curve[1]["n_ensembles"] == 4
    assert sorted(curve) == [1, 2] and curve[2]["n_ensembles"] == 2
