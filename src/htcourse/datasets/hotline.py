"""Synthetic monthly contacts to a fictional hotline, for the numbers-and-trends lab.

The true number of new trafficking situations per month (incidence) is flat;
what the hotline records is not, because reporting changes:

* an awareness campaign (a temporary bump in phone and web contacts),
* a new short phone number (a lasting rise in phone contacts),
* a wider definition of what counts as a trafficking contact (a step up in
  every channel),
* a law change after which the platforms that used to send tips move
  offshore (a drop in tips from online platforms).

Files: ``hotline_contacts.csv`` (recorded contacts per month and channel),
``hotline_truth.csv`` (true monthly incidence) and ``hotline_events.csv``
(the dated events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from htcourse import schema

from .datapackage import csv_resource, schema_field
from .datasheets import fmt_int, fmt_num, markdown_table, render_datasheet
from .generated import GeneratedDataset, rng_for
from .writing import csv_text

NAME = "hotline"
SUMMARY = "Monthly contacts to a fictional hotline, true incidence and reporting events"
CONTACTS_FILE = "hotline_contacts.csv"
TRUTH_FILE = "hotline_truth.csv"
EVENTS_FILE = "hotline_events.csv"
DATASHEET_FILE = "hotline.md"
CSV_FILES = (CONTACTS_FILE, TRUTH_FILE, EVENTS_FILE)

HOTLINE_NAME = "Veldmark Safe Line"
COUNTRY_NAME = "Veldmark"
FIRST_YEAR, LAST_YEAR = 2012, 2023

#: Expected true incidence per month: flat on purpose.
MEAN_MONTHLY_INCIDENCE = 400

#: channel -> share of incidence that reaches the hotline this way
CHANNEL_SHARES = {"phone": 0.12, "webForm": 0.05, "platformTip": 0.06}
#: channel -> (CSV column, share); the columns are declared in htcourse.schema.
CHANNELS = {channel: (column, CHANNEL_SHARES[channel]) for channel, column in schema.HOTLINE_CHANNEL_COLUMNS.items()}
CONTACT_COLUMNS = schema.HOTLINE_CONTACTS_COLUMNS
#: Months before and from an event that the datasheet compares.
COMPARISON_MONTHS = 12


@dataclass(frozen=True)
class Event:
    """Something that changed reporting, not incidence.

    ``effect`` is ``"bump"`` (a temporary rise that fades from ``start`` to
    ``end`` and decays after it) or ``"step"`` (a lasting change from
    ``start``); ``multiplier`` scales the expected contacts of ``channels``.
    """

    event_id: str
    start: str  # YYYY-MM
    end: str  # YYYY-MM, the last month of a bump; empty for a step
    effect: str
    channels: tuple[str, ...]
    multiplier: float
    description: str


EVENTS = (
    Event(
        "awareness_campaign",
        "2014-03",
        "2014-05",
        "bump",
        ("phone", "webForm"),
        1.8,
        f"A three-month national awareness campaign advertises the {HOTLINE_NAME}; "
        "contacts rise during it and fade back within months.",
    ),
    Event(
        "short_number",
        "2016-07",
        "",
        "step",
        ("phone",),
        1.6,
        "A three-digit short number replaces the ten-digit phone number, which is easier to remember.",
    ),
    Event(
        "definition_change",
        "2019-01",
        "",
        "step",
        tuple(CHANNELS),
        1.3,
        "The hotline widens what it counts as a trafficking contact: contacts about "
        "a situation with some but not all indicators of trafficking now count too.",
    ),
    Event(
        "platforms_offshore",
        "2021-04",
        "",
        "step",
        ("platformTip",),
        0.25,
        f"A new law on online platforms comes into force in {COUNTRY_NAME}; most "
        "platforms that sent tips move their services offshore and stop sending them.",
    ),
)

#: How fast the campaign bump fades after the campaign (months).
BUMP_DECAY_MONTHS = 2.0


def months() -> list[str]:
    """Every month of the period, as YYYY-MM."""
    return [f"{year}-{month:02d}" for year in range(FIRST_YEAR, LAST_YEAR + 1) for month in range(1, 13)]


def _month_index(month: str) -> int:
    year, number = (int(part) for part in month.split("-"))
    return (year - FIRST_YEAR) * 12 + number - 1


def reporting_multiplier(event: Event, n_months: int) -> np.ndarray:
    """The factor by which ``event`` scales its channels' contacts, per month."""
    factor = np.ones(n_months)
    start = _month_index(event.start)
    if event.effect == "step":
        factor[start:] = event.multiplier
    elif event.effect == "bump":
        end = _month_index(event.end)
        factor[start : end + 1] = event.multiplier
        after = np.arange(end + 1, n_months)
        factor[end + 1 :] = 1.0 + (event.multiplier - 1.0) * np.exp(-(after - end) / BUMP_DECAY_MONTHS)
    else:
        raise ValueError(f"unknown effect {event.effect!r}")
    return factor


def draw_series(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """True monthly incidence and recorded contacts per channel."""
    month_labels = months()
    n = len(month_labels)
    incidence = rng.poisson(MEAN_MONTHLY_INCIDENCE, size=n)
    contacts = {"month": month_labels}
    for channel, (column, share) in CHANNELS.items():
        expected = incidence * share
        for event in EVENTS:
            if channel in event.channels:
                expected = expected * reporting_multiplier(event, n)
        contacts[column] = rng.poisson(expected)
    contact_table = pd.DataFrame(contacts)
    channel_columns = [column for column, _ in CHANNELS.values()]
    contact_table["contactsTotal"] = contact_table[channel_columns].sum(axis=1)
    truth = pd.DataFrame({"month": month_labels, "trueIncidence": incidence.astype(np.int64)})
    return contact_table[list(CONTACT_COLUMNS)], truth


def events_table() -> pd.DataFrame:
    """The events as written to ``hotline_events.csv``."""
    return pd.DataFrame(
        {
            "eventId": [e.event_id for e in EVENTS],
            "startMonth": [e.start for e in EVENTS],
            "endMonth": [e.end for e in EVENTS],
            "effect": [e.effect for e in EVENTS],
            "channels": [";".join(CHANNELS[c][0] for c in e.channels) for e in EVENTS],
            "description": [e.description for e in EVENTS],
        }
    )


def comparison_windows(event_start: str, event_end: str, month_labels: list[str]) -> tuple[list[str], list[str]]:
    """The months the datasheet compares for one event.

    Before: the ``COMPARISON_MONTHS`` months before ``event_start``. After:
    the months from ``event_start`` to ``event_end`` for a temporary event,
    else the ``COMPARISON_MONTHS`` months from ``event_start``.
    """
    start = month_labels.index(event_start)
    stop = month_labels.index(event_end) + 1 if event_end else start + COMPARISON_MONTHS
    return month_labels[max(0, start - COMPARISON_MONTHS) : start], month_labels[start:stop]


# --------------------------------------------------------------------------
# Datasheet
# --------------------------------------------------------------------------


def _figures(contacts: pd.DataFrame, truth: pd.DataFrame, events: pd.DataFrame) -> dict[str, str]:
    month_labels = list(contacts["month"])
    by_month = contacts.set_index("month")
    incidence = truth.set_index("month")["trueIncidence"]

    event_rows = []
    for event in events.itertuples():
        before, after = comparison_windows(event.startMonth, event.endMonth, month_labels)
        columns = event.channels.split(";")
        affected = by_month[columns].sum(axis=1)
        event_rows.append(
            [
                f"`{event.eventId}`",
                event.startMonth + (f" to {event.endMonth}" if event.endMonth else ""),
                ", ".join(f"`{c}`" for c in columns),
                fmt_num(affected[before].mean()),
                fmt_num(affected[after].mean()),
                fmt_num(incidence[before].mean()),
                fmt_num(incidence[after].mean()),
            ]
        )

    year_rows = []
    years = contacts["month"].str.slice(0, 4)
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        in_year = (years == str(year)).to_numpy()
        year_rows.append(
            [str(year), fmt_int(truth.loc[in_year, "trueIncidence"].sum())]
            + [fmt_int(contacts.loc[in_year, column].sum()) for column in CONTACT_COLUMNS[1:]]
        )
    return {
        "hotline_name": HOTLINE_NAME,
        "country_name": COUNTRY_NAME,
        "first_month": month_labels[0],
        "last_month": month_labels[-1],
        "n_months": str(len(month_labels)),
        "mean_incidence": fmt_num(truth["trueIncidence"].mean()),
        "min_incidence": fmt_int(truth["trueIncidence"].min()),
        "max_incidence": fmt_int(truth["trueIncidence"].max()),
        "comparison_months": str(COMPARISON_MONTHS),
        "event_table": markdown_table(
            [
                "Event",
                "Month(s)",
                "Channels",
                "Contacts per month before",
                "Contacts per month after",
                "True incidence per month before",
                "True incidence per month after",
            ],
            event_rows,
        ),
        "year_table": markdown_table(
            ["Year", "True incidence", "Phone", "Web form", "Platform tips", "All contacts"], year_rows
        ),
        "channel_shares": ", ".join(f"`{column}` {share:.2f}" for column, share in CHANNELS.values()),
    }


def resources() -> list[dict]:
    """Data Package resource descriptors for this dataset's CSV files."""
    month = dict(required=True, pattern=r"\d{4}-(0[1-9]|1[0-2])")
    contact_fields = [schema_field("month", "string", "Month (YYYY-MM).", unique=True, **month)]
    contact_fields += [
        schema_field(
            column, "integer", f"Contacts recorded as trafficking-related: {channel}.", required=True, minimum=0
        )
        for channel, (column, _) in CHANNELS.items()
    ]
    contact_fields.append(
        schema_field("contactsTotal", "integer", "All recorded trafficking-related contacts.", required=True, minimum=0)
    )
    truth_fields = [
        schema_field("month", "string", "Month (YYYY-MM).", unique=True, **month),
        schema_field(
            "trueIncidence", "integer", "True number of new trafficking situations.", required=True, minimum=0
        ),
    ]
    event_fields = [
        schema_field("eventId", "string", "Short name of the event.", required=True, unique=True),
        schema_field("startMonth", "string", "First month affected (YYYY-MM).", **month),
        schema_field(
            "endMonth", "string", "Last month of a temporary event; empty for a lasting one.", pattern=month["pattern"]
        ),
        schema_field("effect", "string", "bump (temporary) or step (lasting).", required=True, enum=["bump", "step"]),
        schema_field(
            "channels", "string", "Columns of hotline_contacts.csv affected, separated by ';'.", required=True
        ),
        schema_field("description", "string", "What happened.", required=True),
    ]
    return [
        csv_resource(
            CONTACTS_FILE,
            f"{HOTLINE_NAME} (fictional): monthly contacts",
            "Recorded trafficking-related contacts per month and channel.",
            contact_fields,
            primary_key=["month"],
        ),
        csv_resource(
            TRUTH_FILE,
            f"{HOTLINE_NAME} (fictional): true incidence",
            "True number of new trafficking situations per month (flat).",
            truth_fields,
            primary_key=["month"],
        ),
        csv_resource(
            EVENTS_FILE,
            f"{HOTLINE_NAME} (fictional): events",
            "Dated events that changed reporting.",
            event_fields,
            primary_key=["eventId"],
        ),
    ]


def generate(seed: int) -> GeneratedDataset:
    """Draw the series and build the files and datasheet."""
    contacts, truth = draw_series(rng_for(seed, NAME))
    events = events_table()
    tables = {CONTACTS_FILE: contacts, TRUTH_FILE: truth, EVENTS_FILE: events}
    files = {name: csv_text(table) for name, table in tables.items()}
    files[DATASHEET_FILE] = render_datasheet(_figures(contacts, truth, events), name=NAME, module=__name__, seed=seed)
    return GeneratedDataset(name=NAME, seed=seed, files=files, tables=tables)
