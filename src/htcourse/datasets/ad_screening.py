"""Synthetic online listings and a fictional screening model, for the evaluation lab.

Each row is an invented listing described only by neutral structured
features (no text, nothing explicit), the score a fictional screening model
gave it, the true label ``isExploitation`` (about 1% of listings) and the
advertiser group.

The fictional model scores late-night posting, low prices, phone numbers
reused across listings and long-running listings as suspicious. In this
synthetic world, independent adults who advertise their own sex work share
several of those features with exploitative listings, so they receive most
of the false positives. That is the lesson of the lab: a screening model's
errors fall on particular people, and a single accuracy figure hides it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from htcourse import schema

from .datapackage import csv_resource, schema_field
from .datasheets import fmt_int, fmt_pct, markdown_table, render_datasheet
from .generated import GeneratedDataset, rng_for
from .writing import csv_text

NAME = "ad_screening"
SUMMARY = "Listings with a fictional screening score, true label and advertiser group"
LISTINGS_FILE = "ad_screening.csv"
DATASHEET_FILE = "ad_screening.md"
CSV_FILES = (LISTINGS_FILE,)

N_LISTINGS = 30_000
THRESHOLDS = (0.5, 0.7, 0.9)
SCORE_DECIMALS = 3

COLUMNS = schema.AD_SCREENING_COLUMNS

PLATFORMS = ("site_a", "site_b", "site_c")
PLATFORM_SHARES = (0.50, 0.30, 0.20)
GROUPS = ("independent_adult", "agency", "other")
GROUP_SHARES = (0.60, 0.25, 0.15)
#: Share of each group's listings that are exploitation (invented).
EXPLOITATION_RATE = {"independent_adult": 0.005, "agency": 0.020, "other": 0.015}
HOUR_BUCKETS = ("00-05", "06-11", "12-17", "18-23")
PRICE_BANDS = ("low", "mid", "high")

#: Feature distributions per profile: the three groups' ordinary listings and
#: exploitative listings (whatever their group). Invented for teaching.
EXPLOITATION_PROFILE = "exploitation"
HOUR_MIX = {
    "independent_adult": (0.30, 0.15, 0.20, 0.35),
    "agency": (0.08, 0.32, 0.35, 0.25),
    "other": (0.15, 0.25, 0.30, 0.30),
    EXPLOITATION_PROFILE: (0.35, 0.15, 0.15, 0.35),
}
PRICE_MIX = {
    "independent_adult": (0.45, 0.40, 0.15),
    "agency": (0.10, 0.45, 0.45),
    "other": (0.30, 0.40, 0.30),
    EXPLOITATION_PROFILE: (0.60, 0.30, 0.10),
}
#: Mean number of other listings that share the phone number (Poisson).
PHONE_REUSE_MEAN = {"independent_adult": 2.5, "agency": 6.0, "other": 1.5, EXPLOITATION_PROFILE: 8.0}
#: Mean number of days the listing has been online (geometric).
DAYS_ACTIVE_MEAN = {"independent_adult": 45, "agency": 20, "other": 10, EXPLOITATION_PROFILE: 25}

#: The fictional model: score = logistic(linear predictor). The term
#: ``HIDDEN_SIGNAL`` stands for evidence the model sees that is not in the
#: file; ``MODEL_NOISE_SD`` for everything else it gets wrong.
INTERCEPT = -4.7
HIDDEN_SIGNAL = 2.5
HOUR_WEIGHT = (1.4, -0.4, -0.4, 0.9)
PRICE_WEIGHT = (1.1, 0.0, -0.9)
PHONE_REUSE_WEIGHT = 0.9  # times log(1 + phoneReuseCount)
DAYS_ACTIVE_WEIGHT = 0.25  # times log(1 + daysActive)
MODEL_NOISE_SD = 1.0


def draw_listings(rng: np.random.Generator, n: int = N_LISTINGS) -> pd.DataFrame:
    """``n`` listings with features, the model's score and the true label."""
    group = rng.choice(len(GROUPS), size=n, p=GROUP_SHARES)
    platform = rng.choice(len(PLATFORMS), size=n, p=PLATFORM_SHARES)
    rate = np.array([EXPLOITATION_RATE[g] for g in GROUPS])[group]
    is_exploitation = rng.random(n) < rate

    profile = np.where(is_exploitation, len(GROUPS), group)
    hour = np.empty(n, dtype=np.int64)
    price = np.empty(n, dtype=np.int64)
    phone_reuse = np.empty(n, dtype=np.int64)
    days_active = np.empty(n, dtype=np.int64)
    for index, name in enumerate((*GROUPS, EXPLOITATION_PROFILE)):
        chosen = profile == index
        size = int(chosen.sum())
        hour[chosen] = rng.choice(len(HOUR_BUCKETS), size=size, p=HOUR_MIX[name])
        price[chosen] = rng.choice(len(PRICE_BANDS), size=size, p=PRICE_MIX[name])
        phone_reuse[chosen] = rng.poisson(PHONE_REUSE_MEAN[name], size=size)
        days_active[chosen] = rng.geometric(1.0 / DAYS_ACTIVE_MEAN[name], size=size)

    linear = (
        INTERCEPT
        + HIDDEN_SIGNAL * is_exploitation
        + np.asarray(HOUR_WEIGHT)[hour]
        + np.asarray(PRICE_WEIGHT)[price]
        + PHONE_REUSE_WEIGHT * np.log1p(phone_reuse)
        + DAYS_ACTIVE_WEIGHT * np.log1p(days_active)
        + MODEL_NOISE_SD * rng.normal(size=n)
    )
    score = np.round(1.0 / (1.0 + np.exp(-linear)), SCORE_DECIMALS)

    width = len(str(n))
    return pd.DataFrame(
        {
            "listingId": [f"L{i:0{width}d}" for i in range(1, n + 1)],
            "platform": np.asarray(PLATFORMS, dtype=object)[platform],
            "advertiserGroup": np.asarray(GROUPS, dtype=object)[group],
            "postedHourBucket": np.asarray(HOUR_BUCKETS, dtype=object)[hour],
            "priceBand": np.asarray(PRICE_BANDS, dtype=object)[price],
            "phoneReuseCount": phone_reuse,
            "daysActive": days_active,
            "score": score,
            "isExploitation": is_exploitation.astype(np.int64),
        },
        columns=list(COLUMNS),
    )


def error_rates(listings: pd.DataFrame, threshold: float) -> dict[str, float | int]:
    """Confusion counts and rates when listings with ``score >= threshold`` are flagged.

    Returns listings, positives (true exploitation), flagged, false
    positives, ``fpr`` (false positives / true negatives), ``recall``
    (flagged positives / positives) and ``precision`` (flagged positives /
    flagged); a rate with a zero denominator is NaN.
    """
    flagged = listings["score"].to_numpy() >= threshold
    positive = listings["isExploitation"].to_numpy() == 1
    true_positives = int((flagged & positive).sum())
    false_positives = int((flagged & ~positive).sum())
    n_positive, n_negative, n_flagged = int(positive.sum()), int((~positive).sum()), int(flagged.sum())

    def ratio(numerator: int, denominator: int) -> float:
        return numerator / denominator if denominator else float("nan")

    return {
        "listings": len(listings),
        "positives": n_positive,
        "flagged": n_flagged,
        "false_positives": false_positives,
        "fpr": ratio(false_positives, n_negative),
        "recall": ratio(true_positives, n_positive),
        "precision": ratio(true_positives, n_flagged),
    }


# --------------------------------------------------------------------------
# Datasheet
# --------------------------------------------------------------------------


def _figures(listings: pd.DataFrame) -> dict[str, str]:
    positives = int(listings["isExploitation"].sum())
    group_rows = []
    for group in GROUPS:
        in_group = listings[listings["advertiserGroup"] == group]
        group_rows.append(
            [
                f"`{group}`",
                fmt_int(len(in_group)),
                fmt_pct(len(in_group) / len(listings)),
                fmt_int(in_group["isExploitation"].sum()),
                fmt_pct(in_group["isExploitation"].mean(), 2),
            ]
        )
    rate_rows = []
    false_positive_share_rows = []
    for threshold in THRESHOLDS:
        overall = error_rates(listings, threshold)
        for group in ("all", *GROUPS):
            subset = listings if group == "all" else listings[listings["advertiserGroup"] == group]
            rates = overall if group == "all" else error_rates(subset, threshold)
            rate_rows.append(
                [
                    f"{threshold:.1f}",
                    f"`{group}`",
                    fmt_int(rates["flagged"]),
                    fmt_int(rates["false_positives"]),
                    fmt_pct(rates["fpr"], 2),
                    fmt_pct(rates["recall"]),
                    fmt_pct(rates["precision"]),
                ]
            )
        independent = error_rates(listings[listings["advertiserGroup"] == GROUPS[0]], threshold)
        false_positive_share_rows.append(
            [
                f"{threshold:.1f}",
                fmt_int(overall["false_positives"]),
                fmt_pct(independent["false_positives"] / overall["false_positives"])
                if overall["false_positives"]
                else "n/a",
            ]
        )
    return {
        "n_listings": fmt_int(len(listings)),
        "n_positive": fmt_int(positives),
        "base_rate": fmt_pct(positives / len(listings), 2),
        "group_table": markdown_table(
            ["Advertiser group", "Listings", "Share of listings", "Exploitation", "Base rate"], group_rows
        ),
        "rate_table": markdown_table(
            ["Threshold", "Group", "Flagged", "False positives", "False-positive rate", "Recall", "Precision"],
            rate_rows,
        ),
        "fp_share_table": markdown_table(
            ["Threshold", "False positives", "Share on independent adults"], false_positive_share_rows
        ),
        "independent_share": fmt_pct(float((listings["advertiserGroup"] == GROUPS[0]).mean())),
        "thresholds": ", ".join(f"{t:.1f}" for t in THRESHOLDS),
    }


def resources() -> list[dict]:
    """Data Package resource descriptor for the listings file."""
    fields = [
        schema_field("listingId", "string", "Listing identifier.", required=True, unique=True, pattern=r"L\d+"),
        schema_field("platform", "string", "Fictional platform.", required=True, enum=list(PLATFORMS)),
        schema_field("advertiserGroup", "string", "Who posted the listing.", required=True, enum=list(GROUPS)),
        schema_field(
            "postedHourBucket", "string", "Hour of posting (six-hour bucket).", required=True, enum=list(HOUR_BUCKETS)
        ),
        schema_field(
            "priceBand", "string", "Price band relative to the platform.", required=True, enum=list(PRICE_BANDS)
        ),
        schema_field(
            "phoneReuseCount",
            "integer",
            "Number of other listings with the same phone number.",
            required=True,
            minimum=0,
        ),
        schema_field("daysActive", "integer", "Days the listing has been online.", required=True, minimum=1),
        schema_field("score", "number", "Fictional screening model's score.", required=True, minimum=0, maximum=1),
        schema_field(
            "isExploitation", "integer", "True label: 1 if linked to exploitation.", required=True, enum=[0, 1]
        ),
    ]
    return [
        csv_resource(
            LISTINGS_FILE,
            "Listing screening",
            "Synthetic listings with neutral features, a fictional model's score, "
            "the true label and the advertiser group.",
            fields,
            primary_key=["listingId"],
        ),
    ]


def generate(seed: int) -> GeneratedDataset:
    """Draw the listings, score them and build the file and datasheet."""
    listings = draw_listings(rng_for(seed, NAME))
    files = {
        LISTINGS_FILE: csv_text(listings, float_decimals={"score": SCORE_DECIMALS}),
        DATASHEET_FILE: render_datasheet(_figures(listings), name=NAME, module=__name__, seed=seed),
    }
    return GeneratedDataset(name=NAME, seed=seed, files=files, tables={LISTINGS_FILE: listings})
