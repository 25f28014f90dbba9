"""Synthetic online listings with shared contact tokens, for the linking lab.

Investigators link online listings that share a phone number, an email
address or a photo, and read the connected groups as the "networks" behind
them. This dataset lets students try that on invented listings whose true
authors are known.

Each row of ``listings.csv`` is an invented listing, described only by
neutral fields and by *tokens* that stand in for contact details and photos
(``P0123`` for a phone number, ``E0456`` for an email address, ``H01234``
for a photo's perceptual hash). Nothing looks like a real phone number or
address, and there is no text and nothing explicit.

Two kinds of advertiser post the listings:

* exploitative *operations*, each posting many listings from a small pool of
  phones, emails and photos (so most of an operation's listings link up,
  but some use a one-off phone and a one-off photo and link to nothing);
* *independent adults* who advertise their own sex work, each with their
  own phone, perhaps an email, and a few photos of their own.

Tokens never cross from one advertiser to another, except through three
kinds of planted *false links* that real linking meets too:

``booking_line``
    A booking line (a shared receptionist or agency phone) that several
    unrelated independent adults in one city put on their listings.
``stock_photo``
    A stock photo reused by one operation and several independent adults.
``recycled_phone``
    A phone number that an independent adult stopped using and that was
    later reassigned to another advertiser (an independent adult or an
    operation).

``listings_truth.csv`` gives each listing's true advertiser
(``operationId``: an operation, or ``independent-NNNN`` for one
independent adult) and type. The generator also returns the advertisers it
drew and the planted false links in ``hidden``, so tests can check the
files against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from htcourse import schema

from .datapackage import csv_resource, schema_field
from .datasheets import fmt_int, fmt_pct, markdown_table, render_datasheet
from .generated import GeneratedDataset, rng_for
from .writing import csv_text

NAME = "listings"
SUMMARY = "Listings with phone, email and photo tokens, and the true advertiser behind each"
LISTINGS_FILE = "listings.csv"
TRUTH_FILE = "listings_truth.csv"
DATASHEET_FILE = "listings.md"
CSV_FILES = (LISTINGS_FILE, TRUTH_FILE)

COLUMNS = schema.LISTINGS_COLUMNS
TRUTH_COLUMNS = schema.LISTINGS_TRUTH_COLUMNS
#: The columns whose shared values link listings.
LINK_ATTRIBUTES = schema.LINK_ATTRIBUTES

OPERATION = "operation"
INDEPENDENT = "independent_adult"
ADVERTISER_TYPES = (OPERATION, INDEPENDENT)

PLATFORMS = ("site_a", "site_b", "site_c")
PLATFORM_SHARES = (0.50, 0.30, 0.20)
CITIES = tuple(f"city_{letter}" for letter in "abcdefgh")
WEEKS = 52

#: Token formats: a letter and a fixed number of digits, drawn without
#: replacement from this many values, so two advertisers never share a token
#: by chance.
TOKEN_FORMATS = {"phone": ("P", 4), "email": ("E", 4), "photoHash": ("H", 5)}

# Operations (all ranges inclusive).
N_OPERATIONS = 24
OPERATION_LISTINGS = (8, 50)
OPERATION_PHONES = (1, 3)
OPERATION_EMAILS = (1, 2)
OPERATION_PHOTO_POOL = 0.25  # photos in the pool per listing (at least 3)
OPERATION_CITIES = (1, 3)
OPERATION_WEEKS = (12, WEEKS)  # length of the active period
OPERATION_EMAIL_SHOWN = 0.5  # share of listings that show an email
BURNER_PHONE = 0.15  # share of listings with a phone used only once
FRESH_PHOTO = 0.20  # share of listings with a photo used only once

# Independent adults.
N_INDEPENDENT = 1000
INDEPENDENT_LISTINGS_P = 0.55  # listings per person: geometric, mean 1 / p
INDEPENDENT_HAS_EMAIL = 0.6
INDEPENDENT_PHOTOS = (1, 3)
INDEPENDENT_WEEKS = (4, WEEKS)
SECOND_CITY = 0.10  # share who also advertise in a second city
OWN_PLATFORM = 0.8  # chance that a listing is on the person's usual platform

# Planted false links.
N_BOOKING_LINES = 3
BOOKING_LINE_CLIENTS = (6, 12)  # independent adults per booking line
BOOKING_LINE_USE = 0.7  # share of a client's listings that show the booking line
N_STOCK_PHOTOS = 4
STOCK_PHOTO_LISTINGS = (4, 8)  # one operation listing, the rest independent adults'
N_RECYCLED_PHONES = 6  # new owners alternate: independent adult, operation, ...
RECYCLE_GAP_WEEKS = (4, 12)  # weeks between the old owner's last listing and reassignment

FALSE_LINK_KINDS = ("booking_line", "stock_photo", "recycled_phone")
FALSE_LINK_ATTRIBUTE = {"booking_line": "phone", "stock_photo": "photoHash", "recycled_phone": "phone"}


@dataclass(frozen=True)
class FalseLink:
    """One planted token shared by advertisers who have nothing to do with each other."""

    kind: str
    attribute: str
    token: str
    operation_ids: tuple[str, ...]  # the true advertisers whose listings carry it, sorted


class _Tokens:
    """Unique tokens of one kind, in random order, never reused."""

    def __init__(self, rng: np.random.Generator, attribute: str):
        self.prefix, self.digits = TOKEN_FORMATS[attribute]
        self.order = rng.permutation(10**self.digits)
        self.used = 0

    def new(self) -> str:
        if self.used >= len(self.order):
            raise RuntimeError(f"ran out of {self.prefix} tokens")
        value = self.order[self.used]
        self.used += 1
        return f"{self.prefix}{value:0{self.digits}d}"


def _between(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return int(rng.integers(low, high + 1))


def _window(rng: np.random.Generator, bounds: tuple[int, int]) -> tuple[int, int]:
    """A random active period of ``bounds`` weeks within the year: (first, last)."""
    length = _between(rng, bounds)
    first = int(rng.integers(1, WEEKS - length + 2))
    return first, first + length - 1


def _draw_operations(rng, tokens) -> tuple[pd.DataFrame, list[dict]]:
    advertisers, rows = [], []
    for number in range(1, N_OPERATIONS + 1):
        operation_id = f"operation-{number:02d}"
        n = _between(rng, OPERATION_LISTINGS)
        phones = [tokens["phone"].new() for _ in range(_between(rng, OPERATION_PHONES))]
        emails = [tokens["email"].new() for _ in range(_between(rng, OPERATION_EMAILS))]
        photos = [tokens["photoHash"].new() for _ in range(max(3, round(n * OPERATION_PHOTO_POOL)))]
        cities = rng.choice(len(CITIES), size=_between(rng, OPERATION_CITIES), replace=False)
        first, last = _window(rng, OPERATION_WEEKS)
        advertisers.append(
            {
                "operationId": operation_id,
                "advertiserType": OPERATION,
                "listings": n,
                "homeCity": CITIES[cities[0]],
                "firstWeek": first,
                "lastWeek": last,
            }
        )
        for _ in range(n):
            burner = rng.random() < BURNER_PHONE
            fresh = rng.random() < FRESH_PHOTO
            rows.append(
                {
                    "operationId": operation_id,
                    "platform": PLATFORMS[rng.choice(len(PLATFORMS), p=PLATFORM_SHARES)],
                    "city": CITIES[rng.choice(cities)],
                    "postedWeek": int(rng.integers(first, last + 1)),
                    "phone": tokens["phone"].new() if burner else phones[rng.integers(len(phones))],
                    "email": emails[rng.integers(len(emails))] if rng.random() < OPERATION_EMAIL_SHOWN else "",
                    "photoHash": tokens["photoHash"].new() if fresh else photos[rng.integers(len(photos))],
                }
            )
    return pd.DataFrame(advertisers), rows


def _draw_independents(rng, tokens) -> tuple[pd.DataFrame, list[dict]]:
    advertisers, rows = [], []
    for number in range(1, N_INDEPENDENT + 1):
        operation_id = f"independent-{number:04d}"
        n = int(rng.geometric(INDEPENDENT_LISTINGS_P))
        phone = tokens["phone"].new()
        email = tokens["email"].new() if rng.random() < INDEPENDENT_HAS_EMAIL else ""
        photos = [tokens["photoHash"].new() for _ in range(_between(rng, INDEPENDENT_PHOTOS))]
        home = int(rng.integers(len(CITIES)))
        second = int(rng.integers(len(CITIES))) if rng.random() < SECOND_CITY else home
        usual_platform = int(rng.choice(len(PLATFORMS), p=PLATFORM_SHARES))
        first, last = _window(rng, INDEPENDENT_WEEKS)
        advertisers.append(
            {
                "operationId": operation_id,
                "advertiserType": INDEPENDENT,
                "listings": n,
                "homeCity": CITIES[home],
                "firstWeek": first,
                "lastWeek": last,
            }
        )
        for _ in range(n):
            platform = usual_platform if rng.random() < OWN_PLATFORM else int(rng.integers(len(PLATFORMS)))
            rows.append(
                {
                    "operationId": operation_id,
                    "platform": PLATFORMS[platform],
                    "city": CITIES[home if rng.random() < 0.8 else second],
                    "postedWeek": int(rng.integers(first, last + 1)),
                    "phone": phone,
                    "email": email,
                    "photoHash": photos[rng.integers(len(photos))],
                }
            )
    return pd.DataFrame(advertisers), rows


def _plant_false_links(rng, tokens, listings: pd.DataFrame, advertisers: pd.DataFrame) -> list[FalseLink]:
    """Overwrite tokens of some listings to plant the false links (in place).

    Each advertiser takes part in at most one false link, so every planted
    token joins exactly the advertisers recorded for it.
    """
    taken: set[str] = set()
    types = advertisers.set_index("operationId")["advertiserType"]
    rows_of = listings.groupby("operationId").indices
    links: list[FalseLink] = []

    home = advertisers.set_index("operationId")["homeCity"]

    def free(kind: str) -> np.ndarray:
        ids = types.index[(types == kind).to_numpy()]
        return np.array([i for i in ids if i not in taken], dtype=object)

    # Booking lines: several independent adults of one city.
    for _ in range(N_BOOKING_LINES):
        token = tokens["phone"].new()
        city = CITIES[rng.integers(len(CITIES))]
        candidates = [i for i in free(INDEPENDENT) if home[i] == city]
        clients = [str(c) for c in rng.choice(candidates, size=_between(rng, BOOKING_LINE_CLIENTS), replace=False)]
        for client in clients:
            rows = rows_of[client]
            shows = rng.random(len(rows)) < BOOKING_LINE_USE
            shows[0] = True  # every client shows the line at least once
            listings.loc[listings.index[rows[shows]], "phone"] = token
        taken.update(clients)
        links.append(FalseLink("booking_line", "phone", token, tuple(sorted(clients))))

    # Stock photos: one operation listing and several independent adults' listings.
    for _ in range(N_STOCK_PHOTOS):
        token = tokens["photoHash"].new()
        operation = str(rng.choice(free(OPERATION)))
        size = _between(rng, STOCK_PHOTO_LISTINGS) - 1
        independents = [str(i) for i in rng.choice(free(INDEPENDENT), size=size, replace=False)]
        for advertiser in (operation, *independents):
            rows = rows_of[advertiser]
            listings.loc[listings.index[rows[rng.integers(len(rows))]], "photoHash"] = token
        taken.update((operation, *independents))
        links.append(FalseLink("stock_photo", "photoHash", token, tuple(sorted((operation, *independents)))))

    # Recycled phones: an independent adult's old number, later someone else's.
    last_week = listings.groupby("operationId")["postedWeek"].max()
    for index in range(N_RECYCLED_PHONES):
        new_kind = INDEPENDENT if index % 2 == 0 else OPERATION
        for old_owner in rng.permutation(free(INDEPENDENT)):
            reassigned = int(last_week[old_owner]) + _between(rng, RECYCLE_GAP_WEEKS)
            new_owners = [a for a in free(new_kind) if a != old_owner and last_week[a] >= reassigned]
            if new_owners:
                break
        else:  # pragma: no cover - the parameters leave plenty of candidates
            raise RuntimeError("no advertiser can take over a recycled phone number")
        old_owner, new_owner = str(old_owner), str(rng.choice(new_owners))
        token = listings.loc[listings.index[rows_of[old_owner][0]], "phone"]
        rows = rows_of[new_owner]
        later = rows[listings["postedWeek"].to_numpy()[rows] >= reassigned]
        listings.loc[listings.index[later], "phone"] = token
        taken.update((old_owner, new_owner))
        links.append(FalseLink("recycled_phone", "phone", token, tuple(sorted((old_owner, new_owner)))))
    return links


def draw_listings(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[FalseLink]]:
    """Draw every advertiser and listing and plant the false links.

    Returns ``(listings, truth, advertisers, false_links)``: the two tables
    that are written, the advertisers as drawn (one row each, with the
    number of listings drawn for them) and the planted false links.
    """
    tokens = {attribute: _Tokens(rng, attribute) for attribute in LINK_ATTRIBUTES}
    operations, operation_rows = _draw_operations(rng, tokens)
    independents, independent_rows = _draw_independents(rng, tokens)
    advertisers = pd.concat([operations, independents], ignore_index=True)
    drawn = pd.DataFrame(operation_rows + independent_rows)
    false_links = _plant_false_links(rng, tokens, drawn, advertisers)

    # Listing ids in order of posting (ties in random order), so an id says
    # nothing about who posted the listing.
    drawn["tieBreak"] = rng.permutation(len(drawn))
    drawn = drawn.sort_values(["postedWeek", "tieBreak"]).reset_index(drop=True)
    width = len(str(len(drawn)))
    drawn["listingId"] = [f"L{i:0{width}d}" for i in range(1, len(drawn) + 1)]
    drawn["advertiserType"] = drawn["operationId"].map(advertisers.set_index("operationId")["advertiserType"])
    drawn["postedWeek"] = drawn["postedWeek"].astype(np.int64)

    listings = drawn[list(COLUMNS)].copy()
    truth = drawn[list(TRUTH_COLUMNS)].copy()
    return listings, truth, advertisers, false_links


# --------------------------------------------------------------------------
# Datasheet
# --------------------------------------------------------------------------


def _figures(listings: pd.DataFrame, truth: pd.DataFrame, false_links: list[FalseLink]) -> dict[str, str]:
    merged = listings.merge(truth, on="listingId")
    type_rows = []
    for kind in ADVERTISER_TYPES:
        part = merged[merged["advertiserType"] == kind]
        per_advertiser = part.groupby("operationId").size()
        type_rows.append(
            [
                f"`{kind}`",
                fmt_int(per_advertiser.size),
                fmt_int(len(part)),
                fmt_pct(len(part) / len(merged)),
                fmt_int(per_advertiser.min()),
                fmt_int(per_advertiser.max()),
            ]
        )

    attribute_rows = []
    for attribute in LINK_ATTRIBUTES:
        shown = merged[merged[attribute] != ""]
        per_token = shown.groupby(attribute).agg(listings=("listingId", "size"), groups=("operationId", "nunique"))
        attribute_rows.append(
            [
                f"`{attribute}`",
                fmt_int(len(shown)),
                fmt_int(len(per_token)),
                fmt_int((per_token["listings"] >= 2).sum()),
                fmt_int((per_token["groups"] >= 2).sum()),
            ]
        )

    type_of = truth.drop_duplicates("operationId").set_index("operationId")["advertiserType"]
    link_rows = []
    for link in false_links:
        carrying = merged[merged[link.attribute] == link.token]
        groups = carrying["operationId"].unique()
        link_rows.append(
            [
                f"`{link.kind}`",
                f"`{link.attribute}`",
                f"`{link.token}`",
                fmt_int(len(carrying)),
                fmt_int(len(groups)),
                fmt_int((type_of[groups] == OPERATION).sum()),
                fmt_int((type_of[groups] == INDEPENDENT).sum()),
            ]
        )

    # Operation listings that share no value with another listing of their operation.
    operations = merged[merged["advertiserType"] == OPERATION]
    linked = pd.Series(False, index=operations.index)
    for attribute in LINK_ATTRIBUTES:
        values = operations[attribute]
        shared = operations.groupby(["operationId", attribute])["listingId"].transform("size") >= 2
        linked |= shared & (values != "")
    n_operation_listings = len(operations)

    return {
        "n_listings": fmt_int(len(merged)),
        "n_operations": fmt_int(truth.loc[truth["advertiserType"] == OPERATION, "operationId"].nunique()),
        "n_independent": fmt_int(truth.loc[truth["advertiserType"] == INDEPENDENT, "operationId"].nunique()),
        "type_table": markdown_table(
            ["Advertiser type", "Advertisers", "Listings", "Share of listings", "Fewest listings", "Most listings"],
            type_rows,
        ),
        "attribute_table": markdown_table(
            [
                "Attribute",
                "Listings with a value",
                "Distinct values",
                "Values on 2+ listings",
                "Values on 2+ true advertisers",
            ],
            attribute_rows,
        ),
        "false_link_table": markdown_table(
            ["Kind", "Attribute", "Value", "Listings", "True advertisers", "Operations", "Independent adults"],
            link_rows,
        ),
        "n_false_links": fmt_int(len(false_links)),
        "n_unlinked": fmt_int((~linked).sum()),
        "unlinked_share": fmt_pct((~linked).sum() / n_operation_listings),
        "n_operation_listings": fmt_int(n_operation_listings),
        "email_missing_share": fmt_pct((merged["email"] == "").mean()),
        "n_booking_lines": fmt_int(N_BOOKING_LINES),
        "booking_clients": f"{BOOKING_LINE_CLIENTS[0]} to {BOOKING_LINE_CLIENTS[1]}",
        "booking_use": fmt_pct(BOOKING_LINE_USE, 0),
        "n_stock_photos": fmt_int(N_STOCK_PHOTOS),
        "stock_listings": f"{STOCK_PHOTO_LISTINGS[0]} to {STOCK_PHOTO_LISTINGS[1]}",
        "n_recycled": fmt_int(N_RECYCLED_PHONES),
        "recycle_gap": f"{RECYCLE_GAP_WEEKS[0]} to {RECYCLE_GAP_WEEKS[1]}",
        "burner_share": fmt_pct(BURNER_PHONE, 0),
        "fresh_photo_share": fmt_pct(FRESH_PHOTO, 0),
    }


def resources() -> list[dict]:
    """Data Package resource descriptors for the listings and the answer key."""
    listing_fields = [
        schema_field(
            "listingId",
            "string",
            "Listing identifier, in order of posting.",
            required=True,
            unique=True,
            pattern=r"L\d+",
        ),
        schema_field("platform", "string", "Fictional platform.", required=True, enum=list(PLATFORMS)),
        schema_field("city", "string", "Fictional city.", required=True, enum=list(CITIES)),
        schema_field(
            "postedWeek", "integer", "Week of posting in a fictional year.", required=True, minimum=1, maximum=WEEKS
        ),
        schema_field("phone", "string", "Token standing for a phone number.", required=True, pattern=r"P\d{4}"),
        schema_field(
            "email", "string", "Token standing for an email address; empty if none is shown.", pattern=r"E\d{4}"
        ),
        schema_field(
            "photoHash", "string", "Token standing for a photo's perceptual hash.", required=True, pattern=r"H\d{5}"
        ),
    ]
    truth_fields = [
        schema_field("listingId", "string", "Listing identifier.", required=True, unique=True, pattern=r"L\d+"),
        schema_field(
            "operationId",
            "string",
            "True advertiser: an operation, or one independent adult.",
            required=True,
            pattern=r"operation-\d{2}|independent-\d{4}",
        ),
        schema_field(
            "advertiserType", "string", "Type of the true advertiser.", required=True, enum=list(ADVERTISER_TYPES)
        ),
    ]
    return [
        csv_resource(
            LISTINGS_FILE,
            "Linked listings",
            "Synthetic listings with tokens standing for phone numbers, email addresses and photos, some shared.",
            listing_fields,
            primary_key=["listingId"],
        ),
        csv_resource(
            TRUTH_FILE,
            "Linked listings: true advertisers",
            "The true advertiser of each listing (the answer key).",
            truth_fields,
            primary_key=["listingId"],
        ),
    ]


def generate(seed: int) -> GeneratedDataset:
    """Draw the advertisers and listings, plant the false links, build the files."""
    listings, truth, advertisers, false_links = draw_listings(rng_for(seed, NAME))
    tables = {LISTINGS_FILE: listings, TRUTH_FILE: truth}
    files = {name: csv_text(table) for name, table in tables.items()}
    files[DATASHEET_FILE] = render_datasheet(
        _figures(listings, truth, false_links), name=NAME, module=__name__, seed=seed
    )
    return GeneratedDataset(
        name=NAME,
        seed=seed,
        files=files,
        tables=tables,
        hidden={"advertisers": advertisers, "false_links": false_links},
    )
