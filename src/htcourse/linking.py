"""Linking listings into suspected networks, and measuring what the links get wrong.

Investigators link online listings that share a phone number, an email
address or a photo, and read each connected group as the "network" behind
them. This module does that on a table of listings and compares the result
with a known truth.

**The link graph** (:func:`link_graph`). Nodes are listings. Two listings are
joined by an edge when they show the same value of at least one linking
attribute (an empty or missing value links nothing). Each edge records which
attributes (``kinds``) and which values (``values``) the two listings share.

**Suspected networks** (:func:`suspected_networks`) are the graph's connected
components: listings joined by a chain of shared values, however long. One
shared value between two otherwise separate groups is enough to merge them.

**Pairwise scores** (:func:`pairwise_scores`). Every *pair* of listings is
either in the same cluster or not, in the prediction and in the truth:

* correct pairs: pairs in the same predicted cluster *and* the same true cluster;
* pairwise precision = correct pairs / pairs in the same predicted cluster
  (how many of the links the clustering asserts are right);
* pairwise recall = correct pairs / pairs in the same true cluster
  (how many of the true links it finds);
* F1 = 2 · precision · recall / (precision + recall).

A rate whose denominator is zero is ``nan`` (undefined). Pairs grow with the
square of a cluster's size, so large clusters weigh most.

**Merges** (:func:`merge_report`). A value shared by listings of two or more
true clusters is a false link: it merges strangers. The report lists each
such value, the suspected network it sits in, and into how many pieces that
network falls once the links made by that value alone are removed.

Clusterings are given either as a mapping from item to cluster label (a
``dict`` or a :class:`pandas.Series` indexed by item) or as an iterable of
collections of items (``[{"a", "b"}, {"c"}]``).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import networkx as nx
import pandas as pd

from htcourse.schema import LINK_ATTRIBUTES, LISTING_ID

ID = LISTING_ID
#: The linking attributes of the ``listings`` dataset (see :mod:`htcourse.schema`).
ATTRIBUTES = LINK_ATTRIBUTES
#: Attribute choices that :func:`compare_attributes` compares by default.
DEFAULT_CHOICES = {
    "Phone only": ("phone",),
    "Phone + photo": ("phone", "photoHash"),
    "Phone + photo + email": ("phone", "photoHash", "email"),
}
#: Cluster size bands for :func:`size_distribution`: (label, smallest size).
SIZE_BANDS = (("1", 1), ("2–5", 2), ("6–20", 6), ("21–50", 21), ("51 or more", 51))


# ---------------------------------------------------------------------------
# Building the graph and its components
# ---------------------------------------------------------------------------


def _is_missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def link_graph(df: pd.DataFrame, attributes: Sequence[str] = ATTRIBUTES, id_col: str = ID) -> nx.Graph:
    """The link graph of the listings in ``df``.

    One node per row (named by ``id_col``, which must be unique). An edge
    joins every two listings that show the same non-empty value of any of
    ``attributes``; its data are ``kinds`` (the shared attributes, in the
    order of ``attributes``) and ``values`` (the shared values, same order).
    A value shown on *k* listings adds an edge between each of their
    *k*·(*k*−1)/2 pairs.
    """
    attributes = list(attributes)
    if not attributes:
        raise ValueError("give at least one attribute to link on")
    missing = [column for column in (id_col, *attributes) if column not in df.columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}")
    ids = df[id_col].tolist()
    if len(set(ids)) != len(ids):
        raise ValueError(f"{id_col} must be unique: each row is one listing")

    graph = nx.Graph()
    graph.add_nodes_from(ids)
    for attribute in attributes:
        holders: dict[object, list] = defaultdict(list)
        for node, value in zip(ids, df[attribute].tolist(), strict=True):
            if not _is_missing(value):
                holders[value].append(node)
        for value, nodes in holders.items():
            for u, v in itertools.combinations(nodes, 2):
                if graph.has_edge(u, v):
                    edge = graph.edges[u, v]
                    edge["kinds"] += (attribute,)
                    edge["values"] += (value,)
                else:
                    graph.add_edge(u, v, kinds=(attribute,), values=(value,))
    return graph


def _sort_key(node) -> tuple:
    # Node names are usually all strings (or all numbers); the type name keeps
    # a mixture sortable.
    return (type(node).__name__, node)


def _sorted(nodes) -> list:
    return sorted(nodes, key=_sort_key)


def components(graph: nx.Graph) -> pd.Series:
    """Each node's connected component, as a Series (index: node, name ``network``).

    Components are numbered 1, 2, … from the largest down (ties: the one
    whose smallest node sorts first comes first); a node with no edge is a
    component of its own. The Series follows the graph's node order.
    """
    parts = [_sorted(part) for part in nx.connected_components(graph)]
    parts.sort(key=lambda part: (-len(part), _sort_key(part[0])))
    number = {node: index for index, part in enumerate(parts, start=1) for node in part}
    return pd.Series([number[node] for node in graph.nodes], index=list(graph.nodes), name="network")


def suspected_networks(df: pd.DataFrame, attributes: Sequence[str] = ATTRIBUTES, id_col: str = ID) -> pd.Series:
    """The suspected networks: connected components of :func:`link_graph` (see :func:`components`)."""
    networks = components(link_graph(df, attributes, id_col))
    networks.index.name = id_col
    return networks


# ---------------------------------------------------------------------------
# Comparing clusterings
# ---------------------------------------------------------------------------


def as_labels(clusters) -> pd.Series:
    """A clustering as a Series of cluster labels indexed by item.

    ``clusters`` is a mapping item -> label (``dict`` or ``Series``) or an
    iterable of collections of items, each collection one cluster (labelled
    0, 1, …). An item in two collections raises ``ValueError``.
    """
    if isinstance(clusters, pd.Series):
        labels = clusters
    elif isinstance(clusters, Mapping):
        labels = pd.Series(dict(clusters), dtype=object)
    elif isinstance(clusters, (str, bytes)) or not isinstance(clusters, Iterable):
        raise TypeError("give a mapping item -> cluster, or an iterable of clusters (collections of items)")
    else:
        label_of: dict = {}
        for label, cluster in enumerate(clusters):
            if isinstance(cluster, (str, bytes)):
                raise TypeError(f"cluster {cluster!r} is a string: give each cluster as a collection of items")
            for item in cluster:
                if item in label_of:
                    raise ValueError(f"item {item!r} is in two clusters")
                label_of[item] = label
        labels = pd.Series(label_of, dtype=object)
    if not labels.index.is_unique:
        raise ValueError("each item must have exactly one cluster")
    if labels.isna().any():
        raise ValueError("every item needs a cluster label (found a missing label)")
    return labels


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


class PairwiseScores(NamedTuple):
    """Pairwise comparison of a predicted clustering with the true one."""

    precision: float
    recall: float
    f1: float
    predicted_pairs: int  # pairs in the same predicted cluster
    true_pairs: int  # pairs in the same true cluster
    correct_pairs: int  # pairs in the same predicted and the same true cluster

    @property
    def wrong_pairs(self) -> int:
        """Pairs linked by the prediction that are not together in the truth."""
        return self.predicted_pairs - self.correct_pairs

    @property
    def missed_pairs(self) -> int:
        """Pairs together in the truth that the prediction does not link."""
        return self.true_pairs - self.correct_pairs


def pairwise_scores(predicted_clusters, true_clusters) -> PairwiseScores:
    """Pairwise precision, recall and F1 of ``predicted_clusters`` against ``true_clusters``.

    Both clusterings (see :func:`as_labels` for the accepted forms) must
    cover exactly the same items. A pair of items counts as *predicted* when
    both are in the same predicted cluster, *true* when both are in the same
    true cluster, and *correct* when both hold. Precision = correct /
    predicted, recall = correct / true, F1 their harmonic mean; ``nan`` when
    a denominator is zero.

    Example: true clusters {a, b, c}, {d} and predicted {a, b}, {c, d} give
    3 true pairs (ab, ac, bc), 2 predicted pairs (ab, cd) and 1 correct pair
    (ab): precision 1/2, recall 1/3, F1 2/5.
    """
    predicted, truth = as_labels(predicted_clusters), as_labels(true_clusters)
    if set(predicted.index) != set(truth.index):
        only_predicted = len(set(predicted.index) - set(truth.index))
        only_true = len(set(truth.index) - set(predicted.index))
        raise ValueError(
            f"the clusterings cover different items ({only_predicted} only in the prediction, "
            f"{only_true} only in the truth)"
        )
    both = pd.DataFrame({"predicted": predicted, "truth": truth.reindex(predicted.index)})
    predicted_pairs = _pairs(both.groupby("predicted").size())
    true_pairs = _pairs(both.groupby("truth").size())
    correct_pairs = _pairs(both.groupby(["predicted", "truth"]).size())
    precision = correct_pairs / predicted_pairs if predicted_pairs else math.nan
    recall = correct_pairs / true_pairs if true_pairs else math.nan
    if math.isnan(precision) or math.isnan(recall) or precision + recall == 0:
        f1 = math.nan if math.isnan(precision) or math.isnan(recall) else 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return PairwiseScores(precision, recall, f1, predicted_pairs, true_pairs, correct_pairs)


def network_summary(networks, truth, types=None) -> pd.DataFrame:
    """One row per suspected network: its size and how many true clusters it merges.

    ``networks`` and ``truth`` are clusterings of the same items (see
    :func:`as_labels`); ``types`` (optional) maps each item to a type of true
    cluster, such as ``advertiserType``. Columns: ``network``, ``listings``,
    ``true_clusters`` and ``mixed`` (True when the network holds items of two
    or more true clusters); with ``types``, for each type *t* also
    ``listings_<t>`` and ``clusters_<t>`` (its items and its distinct true
    clusters in the network). Sorted by ``listings``, largest first.
    """
    networks, truth = as_labels(networks), as_labels(truth)
    if set(networks.index) != set(truth.index):
        raise ValueError("the networks and the truth cover different items")
    frame = pd.DataFrame({"network": networks, "truth": truth.reindex(networks.index)})
    summary = frame.groupby("network").agg(listings=("truth", "size"), true_clusters=("truth", "nunique"))
    if types is not None:
        frame["type"] = as_labels(types).reindex(frame.index)
        if frame["type"].isna().any():
            raise ValueError("every item needs a type")
        for kind in sorted(frame["type"].unique()):
            of_kind = frame[frame["type"] == kind]
            grouped = of_kind.groupby("network")["truth"]
            summary[f"listings_{kind}"] = grouped.size().reindex(summary.index, fill_value=0)
            summary[f"clusters_{kind}"] = grouped.nunique().reindex(summary.index, fill_value=0)
    summary["mixed"] = summary["true_clusters"] > 1
    summary = summary.reset_index().sort_values(["listings", "network"], ascending=[False, True])
    return summary.reset_index(drop=True)


def size_distribution(clusterings: Mapping[str, object]) -> pd.DataFrame:
    """Clusters and items by cluster size band, for each named clustering.

    ``clusterings`` maps a name (e.g. ``"Suspected networks"``, ``"True
    advertisers"``) to a clustering. Returns a tidy table with one row per
    name and band of :data:`SIZE_BANDS` (zeros included): ``clustering``,
    ``size_band``, ``clusters`` and ``listings`` (items in those clusters).
    """
    rows = []
    lower_bounds = [low for _, low in SIZE_BANDS]
    for name, clusters in clusterings.items():
        sizes = as_labels(clusters).value_counts()
        band = pd.cut(sizes, bins=[*lower_bounds, math.inf], right=False, labels=[b for b, _ in SIZE_BANDS])
        for label, _ in SIZE_BANDS:
            in_band = sizes[band == label]
            rows.append(
                {"clustering": name, "size_band": label, "clusters": int(in_band.size), "listings": int(in_band.sum())}
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# False links
# ---------------------------------------------------------------------------


def cross_cluster_edges(graph: nx.Graph, truth) -> pd.DataFrame:
    """The edges of ``graph`` that join items of two different true clusters.

    Columns: ``source``, ``target``, ``kinds``, ``values`` (as on the edge,
    joined with ``+``), ``source_cluster`` and ``target_cluster``.
    """
    truth = as_labels(truth)
    missing = [node for node in graph.nodes if node not in truth.index]
    if missing:
        raise ValueError(f"{len(missing)} nodes have no true cluster, e.g. {missing[0]!r}")
    rows = [
        {
            "source": u,
            "target": v,
            "kinds": "+".join(d["kinds"]),
            "values": "+".join(map(str, d["values"])),
            "source_cluster": truth[u],
            "target_cluster": truth[v],
        }
        for u, v, d in graph.edges(data=True)
        if truth[u] != truth[v]
    ]
    columns = ["source", "target", "kinds", "values", "source_cluster", "target_cluster"]
    return pd.DataFrame(rows, columns=columns)


def merge_report(graph: nx.Graph, truth) -> pd.DataFrame:
    """Every shared value that links listings of different true clusters, and what it merges.

    One row per (attribute, value) shown on listings of two or more true
    clusters, with: ``attribute``, ``value``, ``listings`` (how many show
    it), ``true_clusters`` (how many true clusters they belong to),
    ``network`` (the suspected network it sits in, numbered as by
    :func:`components`), ``network_size``, ``network_true_clusters``, and
    ``split_into``: into how many pieces that network falls when the edges
    made by this value alone are removed (an edge that also shares another
    value stays). ``split_into`` > 1 means this single value holds the
    network together: a bridge between true clusters.

    Sorted by ``network_size`` (largest first), then ``split_into``
    (largest first), then attribute and value.
    """
    truth = as_labels(truth)
    networks = components(graph)
    holders: dict[tuple[str, object], set] = defaultdict(set)
    for u, v, data in graph.edges(data=True):
        for kind, value in zip(data["kinds"], data["values"], strict=True):
            holders[(kind, value)].update((u, v))

    rows = []
    for (kind, value), nodes in holders.items():
        clusters = {truth[node] for node in nodes}
        if len(clusters) < 2:
            continue
        network = networks[next(iter(nodes))]
        members = networks.index[networks == network]
        subgraph = nx.Graph(graph.subgraph(members))
        keep = [
            (u, v)
            for u, v, data in subgraph.edges(data=True)
            if any((k, x) != (kind, value) for k, x in zip(data["kinds"], data["values"], strict=True))
        ]
        pruned = nx.Graph()
        pruned.add_nodes_from(members)
        pruned.add_edges_from(keep)
        rows.append(
            {
                "attribute": kind,
                "value": value,
                "listings": len(nodes),
                "true_clusters": len(clusters),
                "network": int(network),
                "network_size": len(members),
                "network_true_clusters": int(truth[members].nunique()),
                "split_into": nx.number_connected_components(pruned),
            }
        )
    columns = [
        "attribute",
        "value",
        "listings",
        "true_clusters",
        "network",
        "network_size",
        "network_true_clusters",
        "split_into",
    ]
    report = pd.DataFrame(rows, columns=columns)
    if report.empty:
        return report
    report = report.sort_values(
        ["network_size", "split_into", "attribute", "value"], ascending=[False, False, True, True]
    )
    return report.reset_index(drop=True)


# ---------------------------------------------------------------------------
# Choosing the attributes
# ---------------------------------------------------------------------------


def compare_attributes(
    df: pd.DataFrame,
    truth,
    choices: Mapping[str, Sequence[str]] | None = None,
    id_col: str = ID,
) -> pd.DataFrame:
    """Link on several choices of attributes and score each against ``truth``.

    ``choices`` maps a label to the attributes to link on (default
    :data:`DEFAULT_CHOICES`: phone only, phone + photo, all three). One row
    per choice, in order: ``choice``, ``attributes`` (joined with ``+``),
    ``networks`` (suspected networks of two or more listings),
    ``largest`` (listings in the largest), ``mixed_networks`` (networks
    holding listings of two or more true clusters), ``listings_in_mixed``,
    the pairwise ``precision``, ``recall`` and ``f1``, and ``wrong_pairs``
    and ``missed_pairs`` (see :class:`PairwiseScores`).
    """
    choices = DEFAULT_CHOICES if choices is None else choices
    truth = as_labels(truth)
    rows = []
    for label, attributes in choices.items():
        networks = suspected_networks(df, attributes, id_col)
        scores = pairwise_scores(networks, truth)
        summary = network_summary(networks, truth)
        linked = summary[summary["listings"] >= 2]
        rows.append(
            {
                "choice": label,
                "attributes": "+".join(attributes),
                "networks": len(linked),
                "largest": int(summary["listings"].max()),
                "mixed_networks": int(summary["mixed"].sum()),
                "listings_in_mixed": int(summary.loc[summary["mixed"], "listings"].sum()),
                "precision": scores.precision,
                "recall": scores.recall,
                "f1": scores.f1,
                "wrong_pairs": scores.wrong_pairs,
                "missed_pairs": scores.missed_pairs,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Charts (add a description before displaying them)
# ---------------------------------------------------------------------------


def size_chart(distribution: pd.DataFrame):
    """Grouped bars of :func:`size_distribution`: listings in clusters of each size band, per clustering."""
    import altair as alt

    bands = [label for label, _ in SIZE_BANDS]
    return (
        alt.Chart(distribution)
        .mark_bar()
        .encode(
            x=alt.X("size_band:N", title="Cluster size (listings)", sort=bands, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("clustering:N"),
            y=alt.Y("listings:Q", title="Listings in clusters of this size"),
            color=alt.Color("clustering:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip("clustering:N", title="Clustering"),
                alt.Tooltip("size_band:N", title="Cluster size"),
                alt.Tooltip("clusters:Q", title="Clusters", format=","),
                alt.Tooltip("listings:Q", title="Listings", format=","),
            ],
        )
        .properties(width=480, height=260)
    )


def scores_chart(comparison: pd.DataFrame):
    """Pairwise precision and recall for each attribute choice of :func:`compare_attributes`."""
    import altair as alt

    long = comparison.melt(
        id_vars=["choice", "wrong_pairs", "missed_pairs", "mixed_networks"],
        value_vars=["precision", "recall"],
        var_name="measure",
        value_name="value",
    )
    long["measure"] = long["measure"].map({"precision": "Pairwise precision", "recall": "Pairwise recall"})
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("choice:N", title="Linked on", sort=list(comparison["choice"])),
            yOffset=alt.YOffset("measure:N"),
            x=alt.X("value:Q", title="Share of pairs", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip("choice:N", title="Linked on"),
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("value:Q", title="Value", format=".1%"),
                alt.Tooltip("wrong_pairs:Q", title="Wrongly linked pairs", format=","),
                alt.Tooltip("missed_pairs:Q", title="Missed pairs", format=","),
                alt.Tooltip("mixed_networks:Q", title="Networks that merge strangers", format=","),
            ],
        )
        .properties(width=420, height=220)
    )


# ---------------------------------------------------------------------------
# Probabilistic record linkage of case records (Fellegi-Sunter, with Splink)
# ---------------------------------------------------------------------------

#: The columns of the table that :func:`fellegi_sunter_links` links, built by :func:`name_table`.
NAME_TABLE_COLUMNS = ("unique_id", "given", "family", "birthYear", "yearOfRegistration")
#: Jaro-Winkler similarity thresholds of the name comparisons: above the first, above the second, or neither.
NAME_SIMILARITY_LEVELS = (0.9, 0.8)
#: A pair of records is linked when the model's match probability is at least this.
LINK_PROBABILITY = 0.9
#: The seed of Splink's random sample of pairs, from which it estimates the u probabilities.
SPLINK_SEED = 2024


def name_table(records: pd.DataFrame) -> pd.DataFrame:
    """The case records as Splink links them: ``unique_id`` (the record's index), the given and family names
    stripped of spaces and lower-cased, ``birthYear`` and ``yearOfRegistration``.

    Raises ``ValueError`` naming a missing column, or a name that is not text.
    """
    needed = ["givenName", "familyName", "birthYear", "yearOfRegistration"]
    missing = [column for column in needed if column not in records.columns]
    if missing:
        raise ValueError(f"records lack the column(s) {missing}")
    for column in ("givenName", "familyName"):
        bad = records[column][~records[column].map(lambda v: isinstance(v, str))]
        if len(bad):
            raise ValueError(f"{column} must be text; row {bad.index[0]} holds {bad.iloc[0]!r}")
    return pd.DataFrame(
        {
            "unique_id": records.index,
            "given": records["givenName"].str.strip().str.lower(),
            "family": records["familyName"].str.strip().str.lower(),
            "birthYear": records["birthYear"],
            "yearOfRegistration": records["yearOfRegistration"],
        }
    )


def true_record_pairs(records: pd.DataFrame, manifest: pd.DataFrame) -> set[tuple[int, int]]:
    """The answer key's pairs (smaller row, larger row) of the two reports of one person.

    Each ``duplicate`` row of the defect manifest is a second report: its ``rawRow`` is its row in ``records``
    and its ``duplicateOf`` the ``caseId`` of the first report. Raises ``ValueError`` for a ``duplicateOf``
    that is not a case in ``records``.
    """
    row_of_case = dict(zip(records["caseId"], records.index))
    second = manifest[manifest["defect"] == "duplicate"]
    unknown = sorted(set(second["duplicateOf"]) - set(row_of_case))
    if unknown:
        raise ValueError(f"duplicateOf names case(s) not in the records: {unknown[:3]}")
    return {
        tuple(sorted((int(row), int(row_of_case[case])))) for row, case in zip(second["rawRow"], second["duplicateOf"])
    }


def link_scores(found: Iterable[tuple], true: Iterable[tuple]) -> dict:
    """Precision and recall of a set of linked pairs against the true pairs (each pair in either order)."""
    found_set = {tuple(sorted(pair)) for pair in found}
    true_set = {tuple(sorted(pair)) for pair in true}
    right = len(found_set & true_set)
    return {
        "precision": right / len(found_set) if found_set else math.nan,
        "recall": right / len(true_set) if true_set else math.nan,
        "links": len(found_set),
        "true_pairs": len(true_set),
        "right": right,
    }


def duckdb_api():
    """A Splink database API on a new in-memory DuckDB connection, without DuckDB's progress bar (which would
    otherwise show as a widget in a notebook, and on the site, whenever a query runs for more than two seconds)."""
    import duckdb
    from splink import DuckDBAPI

    connection = duckdb.connect(":memory:")
    connection.execute("SET enable_progress_bar = false")
    return DuckDBAPI(connection=connection)


def fellegi_sunter_links(
    people: pd.DataFrame, probability: float = LINK_PROBABILITY, seed: int = SPLINK_SEED
) -> pd.DataFrame:
    """The pairs of ``people`` (a :func:`name_table`) that a Fellegi-Sunter model, trained by EM, links.

    The lab's reference for its Splink exercise; the steps are Splink's own: block on the year of registration
    and the first letter of the family name; compare the two names at the Jaro-Winkler levels of
    ``NAME_SIMILARITY_LEVELS`` and the birth years exactly; estimate the share of matching pairs, the u
    probabilities from a random sample of pairs (``seed``) and the m probabilities by EM (two rounds, each blocked
    on a different name); keep the pairs whose match probability is at least ``probability``. Returns Splink's
    predictions as a pandas DataFrame (``unique_id_l``, ``unique_id_r``, ``match_probability``, ...).
    """
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    missing = [column for column in NAME_TABLE_COLUMNS if column not in people.columns]
    if missing:
        raise ValueError(f"people lack the column(s) {missing}: build the table with name_table(records)")
    if not 0 < probability < 1:
        raise ValueError(f"probability must lie strictly between 0 and 1, not {probability!r}")
    blocking = block_on("yearOfRegistration", "substr(family, 1, 1)")
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[blocking],
        comparisons=[
            cl.JaroWinklerAtThresholds("given", list(NAME_SIMILARITY_LEVELS)),
            cl.JaroWinklerAtThresholds("family", list(NAME_SIMILARITY_LEVELS)),
            cl.ExactMatch("birthYear"),
        ],
    )
    linker = Linker(people[list(NAME_TABLE_COLUMNS)], settings, duckdb_api(), set_up_basic_logging=False)
    linker.training.estimate_probability_two_random_records_match([block_on("given", "family")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("yearOfRegistration", "substr(given, 1, 1)")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(blocking)
    return linker.inference.predict(threshold_match_probability=probability).as_pandas_dataframe()
