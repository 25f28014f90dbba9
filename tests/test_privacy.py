"""Tests of htcourse.privacy: suppression, k-anonymity and OpenDP's differentially private counts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from htcourse import privacy


def test_suppression_hides_small_counts_but_not_zeros():
    counts = pd.Series({"a": 0, "b": 1, "c": 4, "d": 5, "e": 12})
    out = privacy.suppress_small_cells(counts)
    assert out.isna().tolist() == [False, True, True, False, False]
    assert out["a"] == 0 and out["d"] == 5 and out["e"] == 12
    assert privacy.suppress_small_cells(counts, threshold=10).isna().sum() == 3


def test_k_anonymity_is_the_smallest_group():
    frame = pd.DataFrame({"g": ["m", "m", "f", "f", "f"], "age": ["18-25"] * 4 + [None]})
    assert privacy.k_anonymity(frame, ["g"]) == 2
    assert privacy.k_anonymity(frame, ["g", "age"]) == 1  # the missing age is a group of its own
    with pytest.raises(KeyError, match="'citizenship'"):
        privacy.k_anonymity(frame, ["citizenship"])


@pytest.mark.parametrize(
    "bad, message",
    [
        (pd.Series({"a": 3, "b": -1}), "cannot be negative; 'b' is -1"),
        (pd.Series({"a": 3, "b": 1.5}), "whole numbers; 'b' is 1.5"),
    ],
)
def test_bad_counts_are_refused_naming_the_cell(bad, message):
    with pytest.raises(ValueError, match=message):
        privacy.dp_counts(bad, 1.0)
    with pytest.raises(ValueError, match=message):
        privacy.suppress_small_cells(bad)


@pytest.mark.parametrize("epsilon", [0, -1, math.inf, math.nan, True, "1"])
def test_epsilon_must_be_a_positive_number(epsilon):
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        privacy.dp_counts(pd.Series({"a": 3}), epsilon)


def test_dp_release_keeps_the_cells_and_its_error_shrinks_as_epsilon_grows():
    truth = pd.Series(np.arange(400) % 17, index=[f"cell{i}" for i in range(400)], name="people")
    errors = {}
    for epsilon in (0.1, 1.0, 10.0):
        released = privacy.dp_counts(truth, epsilon)
        assert released.index.equals(truth.index) and released.dtype == int
        errors[epsilon] = float((released - truth).abs().mean())
    # Discrete Laplace noise with scale 1/ε: mean absolute error about 10, 1 and 0.01 for these ε.
    assert errors[0.1] > errors[1.0] > errors[10.0]
    assert 5 < errors[0.1] < 20 and 0.4 < errors[1.0] < 2 and errors[10.0] < 0.2


def test_the_privacy_lab_runs_and_its_error_shrinks_as_epsilon_grows():
    """Execute the lab top to bottom (its solutions included), then read its own measurements."""
    import nbformat
    from nbclient import NotebookClient

    from htcourse.paths import REPO_ROOT

    lab = REPO_ROOT / "book" / "modules" / "06-clean-data" / "lab-privacy.ipynb"
    nb = nbformat.read(lab, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "assert list(mae_by_epsilon.index) == sorted(mae_by_epsilon.index)\n"
            "assert mae_by_epsilon.is_monotonic_decreasing and mae_by_epsilon.iloc[0] > 5 * mae_by_epsilon.iloc[2]\n"
            "print('MAE', mae_by_epsilon.round(3).to_dict())"
        )
    )
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(lab.parent)}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert printed.startswith("MAE {0.1:")


def test_the_labs_dp_synthesiser_loses_less_as_epsilon_grows():
    """pac-synth (the privacy lab's synthesiser) on a small table with a known truth: its error shrinks as ε grows."""
    import pacsynth

    rng = np.random.default_rng(7)
    truth = pd.DataFrame(
        {
            "country": rng.choice(["GB", "NA", "ID", "US"], size=3000, p=[0.4, 0.3, 0.2, 0.1]),
            "type": rng.choice(["labour", "sexual", "other"], size=3000, p=[0.5, 0.3, 0.2]),
            "gender": rng.choice(["Woman", "Man"], size=3000),
        }
    )
    true_table = truth.groupby(["country", "type"]).size()

    def error(epsilon: float) -> float:
        # As in the lab: 5% of ε for the number of records (with the default 0.5%, a small ε can make the noisy
        # number of records negative, and pac-synth then panics).
        builder = pacsynth.DpAggregateSeededParametersBuilder().reporting_length(2).epsilon(epsilon)
        parameters = builder.number_of_records_epsilon_proportion(0.05).build()
        synthesiser = pacsynth.DpAggregateSeededSynthesizer(parameters)
        synthesiser.fit(pacsynth.Dataset.from_data_frame(truth))
        synthetic = pacsynth.Dataset.raw_data_to_data_frame(synthesiser.sample())
        assert list(synthetic.columns) == list(truth.columns)
        table = synthetic.groupby(["country", "type"]).size()
        cells = true_table.index.union(table.index)
        return float((table.reindex(cells, fill_value=0) - true_table.reindex(cells, fill_value=0)).abs().sum())

    low, high = error(0.1), error(20.0)
    assert high < low, (low, high)
    assert high < 0.1 * len(truth)  # at a large ε the table is close to the truth
