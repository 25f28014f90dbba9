"""Tests of htcourse.linking: hand-built link graphs, hand-computed pairwise scores and merges."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest

from htcourse import data, linking

# Six listings, linked by hand:
#   L1 -- L2  share phone P1
#   L1 -- L3  share email E1
#   L3 -- L4  share photo H3
#   L2 and L5 show no email (empty cell), L4 a missing one: empty values link nothing.
#   L5 and L6 share nothing with anyone.
TINY = pd.DataFrame(
    {
        "listingId": ["L1", "L2", "L3", "L4", "L5", "L6"],
        "phone": ["P1", "P1", "P2", "P3", "P4", "P5"],
        "email": ["E1", "", "E1", None, "", "E6"],
        "photoHash": ["H1", "H2", "H3", "H3", "H5", "H6"],
    }
)
# The truth: L1-L3 are one operation; L4, L5 and L6 are three different people.
TINY_TRUTH = {"L1": "op-A", "L2": "op-A", "L3": "op-A", "L4": "ind-4", "L5": "ind-5", "L6": "ind-6"}


# ---------------------------------------------------------------------------
# Pairwise scores
# ---------------------------------------------------------------------------


def test_pairwise_scores_by_hand():
    # True pairs: ab, ac, bc (3). Predicted pairs: ab, cd (2). Correct: ab (1).
    scores = linking.pairwise_scores([{"a", "b"}, {"c", "d"}], [{"a", "b", "c"}, {"d"}])
    assert scores.precision == pytest.approx(1 / 2)
    assert scores.recall == pytest.approx(1 / 3)
    assert scores.f1 == pytest.approx(2 / 5)
    assert (scores.predicted_pairs, scores.true_pairs, scores.correct_pairs) == (2, 3, 1)
    assert (scores.wrong_pairs, scores.missed_pairs) == (1, 2)


def test_pairwise_scores_accept_labels_and_are_not_symmetric():
    predicted = pd.Series({"a": 1, "b": 1, "c": 2, "d": 2})
    truth = {"a": "x", "b": "x", "c": "x", "d": "y"}
    scores = linking.pairwise_scores(predicted, truth)
    assert (scores.precision, scores.recall) == pytest.approx((1 / 2, 1 / 3))
    # Swapping prediction and truth swaps precision and recall.
    swapped = linking.pairwise_scores(truth, predicted)
    assert (swapped.precision, swapped.recall) == pytest.approx((1 / 3, 1 / 2))


def test_pairwise_scores_at_the_extremes():
    truth = [{"a", "b", "c"}, {"d", "e"}]
    perfect = linking.pairwise_scores([{"e", "d"}, {"c", "b", "a"}], truth)
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    # Everything merged into one "network": all 4 true pairs found, 10 pairs claimed.
    merged = linking.pairwise_scores([{"a", "b", "c", "d", "e"}], truth)
    assert (merged.precision, merged.recall) == pytest.approx((4 / 10, 1.0))
    # Nothing linked: no pair claimed, so precision is undefined, not 1 or 0.
    nothing = linking.pairwise_scores([{"a"}, {"b"}, {"c"}, {"d"}, {"e"}], truth)
    assert math.isnan(nothing.precision) and nothing.recall == 0.0 and math.isnan(nothing.f1)


def test_pairwise_scores_reject_bad_clusterings():
    with pytest.raises(ValueError, match="different items"):
        linking.pairwise_scores([{"a", "b"}], [{"a", "b", "c"}])
    with pytest.raises(ValueError, match="two clusters"):
        linking.pairwise_scores([{"a", "b"}, {"b"}], [{"a", "b"}])
    with pytest.raises(TypeError):
        linking.pairwise_scores(["ab"], [{"a", "b"}])


# ---------------------------------------------------------------------------
# The graph and its components
# ---------------------------------------------------------------------------


def test_link_graph_on_a_tiny_frame():
    graph = linking.link_graph(TINY)
    assert sorted(graph.nodes) == list(TINY["listingId"])
    edges = {tuple(sorted((u, v))): (d["kinds"], d["values"]) for u, v, d in graph.edges(data=True)}
    assert edges == {
        ("L1", "L2"): (("phone",), ("P1",)),
        ("L1", "L3"): (("email",), ("E1",)),
        ("L3", "L4"): (("photoHash",), ("H3",)),
    }


def test_an_edge_records_every_shared_attribute():
    frame = pd.DataFrame({"listingId": ["A", "B", "C"], "phone": ["P1", "P1", "P1"], "photoHash": ["H1", "H1", "H2"]})
    graph = linking.link_graph(frame, ["phone", "photoHash"])
    assert graph.edges["A", "B"] == {"kinds": ("phone", "photoHash"), "values": ("P1", "H1")}
    assert graph.edges["A", "C"] == {"kinds": ("phone",), "values": ("P1",)}
    assert graph.number_of_edges() == 3  # a value on k listings links all k(k-1)/2 pairs


def test_components_on_a_tiny_frame():
    networks = linking.suspected_networks(TINY)
    assert networks.to_dict() == {"L1": 1, "L2": 1, "L3": 1, "L4": 1, "L5": 2, "L6": 3}
    assert networks.index.name == "listingId" and networks.name == "network"
    # Phone only: L1-L2 is the only link; singletons numbered by their id.
    phone_only = linking.suspected_networks(TINY, ["phone"])
    assert phone_only.to_dict() == {"L1": 1, "L2": 1, "L3": 2, "L4": 3, "L5": 4, "L6": 5}


def test_link_graph_rejects_bad_input():
    with pytest.raises(ValueError, match="unique"):
        linking.link_graph(pd.concat([TINY, TINY.head(1)]))
    with pytest.raises(ValueError, match="not in the table"):
        linking.link_graph(TINY, ["phone", "address"])
    with pytest.raises(ValueError, match="at least one"):
        linking.link_graph(TINY, [])


# ---------------------------------------------------------------------------
# False links
# ---------------------------------------------------------------------------


def test_a_bridge_between_two_true_clusters_is_reported():
    graph = linking.link_graph(TINY)
    report = linking.merge_report(graph, TINY_TRUTH)
    # Only the photo H3 joins two true clusters (the operation and ind-4);
    # P1 and E1 link listings of the same operation and are not reported.
    assert report.to_dict("records") == [
        {
            "attribute": "photoHash",
            "value": "H3",
            "listings": 2,
            "true_clusters": 2,
            "network": 1,
            "network_size": 4,
            "network_true_clusters": 2,
            "split_into": 2,
        }
    ]
    edges = linking.cross_cluster_edges(graph, TINY_TRUTH)
    assert edges[["source", "target", "kinds", "values"]].to_dict("records") == [
        {"source": "L3", "target": "L4", "kinds": "photoHash", "values": "H3"}
    ]


def test_a_false_link_backed_by_another_value_does_not_split_its_network():
    # L4 also shows E1: L3-L4 now share E1 and H3, and E1 itself joins two true clusters.
    frame = TINY.assign(email=["E1", "", "E1", "E1", "", "E6"])
    report = linking.merge_report(linking.link_graph(frame), TINY_TRUTH).set_index("value")
    assert sorted(report.index) == ["E1", "H3"]
    assert report.loc["H3", "split_into"] == 1  # the L3-L4 edge survives through E1
    # Without E1's edges: L1-L2 (phone) and L3-L4 (photo) remain, two pieces.
    assert report.loc["E1", "split_into"] == 2
    assert report.loc["E1", "listings"] == 3 and report.loc["E1", "true_clusters"] == 2


def test_merge_report_is_empty_when_links_are_right():
    graph = linking.link_graph(TINY, ["phone", "email"])
    assert linking.merge_report(graph, TINY_TRUTH).empty
    assert linking.cross_cluster_edges(graph, TINY_TRUTH).empty


def test_network_summary_counts_true_clusters_and_types():
    types = {
        "L1": "operation",
        "L2": "operation",
        "L3": "operation",
        "L4": "independent",
        "L5": "independent",
        "L6": "independent",
    }
    summary = linking.network_summary(linking.suspected_networks(TINY), TINY_TRUTH, types)
    first = summary.iloc[0]
    assert (first["network"], first["listings"], first["true_clusters"], bool(first["mixed"])) == (1, 4, 2, True)
    assert (first["listings_operation"], first["clusters_operation"]) == (3, 1)
    assert (first["listings_independent"], first["clusters_independent"]) == (1, 1)
    assert summary["mixed"].tolist() == [True, False, False]
    assert summary["listings"].sum() == len(TINY)


def test_size_distribution_bands():
    truth = {**{f"a{i}": "A" for i in range(7)}, "b1": "B", "b2": "B", "c": "C"}
    table = linking.size_distribution({"truth": truth}).set_index("size_band")
    assert list(table.index) == [label for label, _ in linking.SIZE_BANDS]
    assert table["clusters"].to_dict() == {"1": 1, "2–5": 1, "6–20": 1, "21–50": 0, "51 or more": 0}
    assert table["listings"].to_dict() == {"1": 1, "2–5": 2, "6–20": 7, "21–50": 0, "51 or more": 0}


def test_compare_attributes_on_a_tiny_frame():
    table = linking.compare_attributes(TINY, TINY_TRUTH).set_index("choice")
    assert list(table.index) == list(linking.DEFAULT_CHOICES)
    phone = table.loc["Phone only"]
    # Phone only links L1-L2: 1 correct pair of the 3 true pairs (L1L2, L1L3, L2L3).
    assert (phone["precision"], phone["recall"]) == pytest.approx((1.0, 1 / 3))
    assert (phone["networks"], phone["largest"], phone["mixed_networks"]) == (1, 2, 0)
    # Phone + photo links L1-L2 and L3-L4: two networks, one of them false.
    photo = table.loc["Phone + photo"]
    assert (photo["precision"], photo["recall"]) == pytest.approx((1 / 2, 1 / 3))
    assert photo["wrong_pairs"] == 1 and photo["mixed_networks"] == 1
    # All three: one network of four listings, 6 pairs claimed, 3 right.
    every = table.loc["Phone + photo + email"]
    assert (every["precision"], every["recall"]) == pytest.approx((1 / 2, 1.0))
    assert (every["largest"], every["listings_in_mixed"]) == (4, 4)


def test_charts_encode_the_aggregated_tables():
    distribution = linking.size_distribution({"Suspected": linking.suspected_networks(TINY), "True": TINY_TRUTH})
    spec = linking.size_chart(distribution).to_dict()
    assert spec["encoding"]["x"]["field"] == "size_band" and spec["encoding"]["y"]["field"] == "listings"
    comparison = linking.compare_attributes(TINY, TINY_TRUTH)
    spec = linking.scores_chart(comparison).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert len(values) == 2 * len(comparison)  # one bar per choice and measure
    assert spec["encoding"]["x"]["title"] == "Share of pairs"


# ---------------------------------------------------------------------------
# On the course dataset
# ---------------------------------------------------------------------------


def test_merge_report_finds_exactly_the_values_shared_across_true_advertisers():
    listings = data.load("listings", keep_default_na=False, na_values=[""])
    truth = data.load("listings_truth").set_index("listingId")["operationId"]
    report = linking.merge_report(linking.link_graph(listings), truth)
    # Independent check with pandas: values shown on listings of 2+ true advertisers.
    expected = set()
    with_truth = listings.join(truth, on="listingId")
    for attribute in linking.ATTRIBUTES:
        advertisers = with_truth.dropna(subset=[attribute]).groupby(attribute)["operationId"].nunique()
        expected |= {(attribute, value) for value in advertisers.index[advertisers >= 2]}
    assert expected and set(zip(report["attribute"], report["value"], strict=True)) == expected
    scores = linking.pairwise_scores(linking.suspected_networks(listings), truth)
    assert scores.precision < 1 and scores.recall < 1


# ---------------------------------------------------------------------------
# Probabilistic record linkage of case records (Splink)
# ---------------------------------------------------------------------------

RECORDS = pd.DataFrame(
    {
        "caseId": ["C1", "C2", "C3", "C4"],
        "givenName": [" Vunin", "vunnin ", "Foni", "Ranor"],
        "familyName": ["Denalis", "DENALIS", "Sukulos", "Vufovun"],
        "birthYear": [1983.0, 1983.0, None, 1987.0],
        "yearOfRegistration": [2015, 2016, 2015, 2015],
    },
    index=[10, 11, 12, 13],
)


def test_name_table_standardises_the_names_and_keeps_the_row():
    people = linking.name_table(RECORDS)
    assert list(people.columns) == list(linking.NAME_TABLE_COLUMNS)
    assert people["unique_id"].tolist() == [10, 11, 12, 13]
    assert people["given"].tolist() == ["vunin", "vunnin", "foni", "ranor"]
    assert people["family"].tolist()[:2] == ["denalis", "denalis"]


def test_name_table_rejects_bad_records():
    with pytest.raises(ValueError, match="familyName"):
        linking.name_table(RECORDS.drop(columns="familyName"))
    with pytest.raises(ValueError, match=r"givenName must be text; row 12"):
        linking.name_table(RECORDS.assign(givenName=[" Vunin", "vunnin ", None, "Ranor"]))


def test_true_record_pairs_and_link_scores_by_hand():
    manifest = pd.DataFrame(
        {"rawRow": [11, 13, 12], "defect": ["duplicate", "duplicate", "typo"], "duplicateOf": ["C1", "C3", ""]}
    )
    true = linking.true_record_pairs(RECORDS, manifest)
    assert true == {(10, 11), (12, 13)}
    scores = linking.link_scores([(11, 10), (10, 12), (10, 13)], true)  # one right (either order), two wrong
    assert (scores["right"], scores["links"], scores["true_pairs"]) == (1, 3, 2)
    assert math.isclose(scores["precision"], 1 / 3) and math.isclose(scores["recall"], 1 / 2)
    assert math.isnan(linking.link_scores([], true)["precision"])
    with pytest.raises(ValueError, match="C9"):
        linking.true_record_pairs(RECORDS, manifest.assign(duplicateOf=["C9", "C3", ""]))


def test_duckdb_api_has_no_progress_bar():
    api = linking.duckdb_api()
    setting = "select value from duckdb_settings() where name = 'enable_progress_bar'"
    assert api._con.execute(setting).fetchall() == [("false",)]


def test_fellegi_sunter_links_refuses_bad_input():
    with pytest.raises(ValueError, match="name_table"):
        linking.fellegi_sunter_links(RECORDS)
    with pytest.raises(ValueError, match="between 0 and 1"):
        linking.fellegi_sunter_links(linking.name_table(RECORDS), probability=90)


def test_fellegi_sunter_links_find_the_second_reports_that_exact_names_miss():
    """On the committed case records of three years (to keep the test quick): the model, trained without labels,
    links far more second reports than exact names do, and almost every link it makes is right."""
    records = data.load("case_records_raw", keep_default_na=False, na_values=[""])
    manifest = data.load("case_records_defects", keep_default_na=False, na_values=[""])
    true = linking.true_record_pairs(records, manifest)
    records = records[records["yearOfRegistration"] <= 2017]
    true = {(a, b) for a, b in true if a in records.index and b in records.index}
    assert len(true) > 50
    people = linking.name_table(records)
    links = linking.fellegi_sunter_links(people)
    found = set(zip(links["unique_id_l"].astype(int), links["unique_id_r"].astype(int)))
    scores = linking.link_scores(found, true)
    assert (links["match_probability"] >= linking.LINK_PROBABILITY).all()
    assert scores["precision"] >= 0.95 and scores["recall"] >= 0.9, scores
    same_name = people.groupby(["given", "family"])["unique_id"].agg(list)
    exact = {tuple(sorted(pair)) for rows in same_name for pair in itertools.combinations(rows, 2)}
    assert scores["recall"] > linking.link_scores(exact, true)["recall"] + 0.2
