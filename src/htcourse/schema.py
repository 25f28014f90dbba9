"""The columns of every table in ``datasets/``: the one place their names are written.

The dataset generators (:mod:`htcourse.datasets`) write their CSV files with
exactly these columns, in this order, and the lab helpers
(:mod:`htcourse.cleaning`, :mod:`htcourse.linking`, :mod:`htcourse.metrics`)
read the files by these names. The Table Schemas in ``datapackage.json`` are
checked against :data:`COLUMNS` when they are built, so a column renamed in
one place and not here fails at generation time, not in a lab.

This module imports nothing heavier than the standard library, so a lab
helper can use it without loading the generators.

    from htcourse import schema
    schema.COLUMNS["case_records_raw.csv"]   # the raw export's columns, in order
    schema.MEANS_COLUMNS                      # its means-of-control flags
"""

from __future__ import annotations

# --------------------------------------------------------------------------
# Case records (dirty-data lab). Names follow the CTDC synthetic data schema
# where it has the field; caseId, reportingSource, registrationDate,
# givenName, familyName and birthYear are added for de-duplication.
# --------------------------------------------------------------------------

CASE_ID = "caseId"
REPORTING_SOURCE = "reportingSource"
REGISTRATION_DATE = "registrationDate"
YEAR_OF_REGISTRATION = "yearOfRegistration"
GIVEN_NAME = "givenName"
FAMILY_NAME = "familyName"
BIRTH_YEAR = "birthYear"
GENDER = "gender"
AGE_BROAD = "ageBroad"
CITIZENSHIP = "citizenship"
COUNTRY_OF_EXPLOITATION = "CountryOfExploitation"
TRAFFICK_MONTHS = "traffickMonths"

#: Means-of-control flags (1 yes, 0 no, empty not recorded).
MEANS_COLUMNS = (
    "meansDebtBondageEarnings",
    "meansThreats",
    "meansAbusePsyPhySex",
    "meansFalsePromises",
    "meansDrugsAlcohol",
    "meansDenyBasicNeeds",
    "meansExcessiveWorkHours",
    "meansWithholdDocs",
)
#: Type-of-exploitation flags.
TYPE_COLUMNS = ("isForcedLabour", "isSexualExploit", "isOtherExploit")
LABOUR_SECTOR_COLUMNS = (
    "sectorOfLabourAgriculture",
    "sectorOfLabourConstruction",
    "sectorOfLabourDomesticWork",
    "sectorOfLabourHospitality",
)
SEX_SECTOR_COLUMNS = ("sectorOfSexProstitution", "sectorOfSexPornography")
SECTOR_COLUMNS = LABOUR_SECTOR_COLUMNS + SEX_SECTOR_COLUMNS
RECRUITER_COLUMNS = (
    "recruiterRelationIntimatePartner",
    "recruiterRelationFriend",
    "recruiterRelationFamily",
    "recruiterRelationOther",
)
#: Every 0/1 flag column, in file order.
FLAG_COLUMNS = MEANS_COLUMNS + TYPE_COLUMNS + SECTOR_COLUMNS + RECRUITER_COLUMNS
#: The two columns that hold an ISO 3166-1 alpha-2 country code (``NA`` is Namibia).
COUNTRY_COLUMNS = (CITIZENSHIP, COUNTRY_OF_EXPLOITATION)

#: Columns of ``case_records_clean.csv`` and ``case_records_raw.csv`` (the same).
CASE_RECORDS_COLUMNS = (
    CASE_ID,
    REPORTING_SOURCE,
    REGISTRATION_DATE,
    YEAR_OF_REGISTRATION,
    GIVEN_NAME,
    FAMILY_NAME,
    BIRTH_YEAR,
    GENDER,
    AGE_BROAD,
    CITIZENSHIP,
    COUNTRY_OF_EXPLOITATION,
    TRAFFICK_MONTHS,
    *FLAG_COLUMNS,
)
#: Columns of the defect manifest ``case_records_defects.csv``.
CASE_RECORDS_DEFECTS_COLUMNS = (
    "rawRow",
    CASE_ID,
    "column",
    "defect",
    "cleanValue",
    "dirtyValue",
    "duplicateOf",
)

#: The CTDC's age bands (values of ``ageBroad``), youngest first.
AGE_BANDS = ("0--8", "9--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+")

# --------------------------------------------------------------------------
# Online listings: linking (listings) and screening (ad_screening)
# --------------------------------------------------------------------------

LISTING_ID = "listingId"
#: The values two listings can share, which the linking lab links on.
LINK_ATTRIBUTES = ("phone", "email", "photoHash")
LISTINGS_COLUMNS = (LISTING_ID, "platform", "city", "postedWeek", *LINK_ATTRIBUTES)
LISTINGS_TRUTH_COLUMNS = (LISTING_ID, "operationId", "advertiserType")

#: The screening tool's score, the true label (1 = exploitation) and the advertiser group.
SCORE = "score"
LABEL = "isExploitation"
GROUP = "advertiserGroup"
AD_SCREENING_COLUMNS = (
    LISTING_ID,
    "platform",
    GROUP,
    "postedHourBucket",
    "priceBand",
    "phoneReuseCount",
    "daysActive",
    SCORE,
    LABEL,
)

# --------------------------------------------------------------------------
# Hotline contacts (trends lab)
# --------------------------------------------------------------------------

MONTH = "month"
CONTACTS_TOTAL = "contactsTotal"
TRUE_INCIDENCE = "trueIncidence"
#: contact channel -> its column in ``hotline_contacts.csv``.
HOTLINE_CHANNEL_COLUMNS = {
    "phone": "contactsPhone",
    "webForm": "contactsWebForm",
    "platformTip": "contactsPlatformTip",
}
HOTLINE_CONTACTS_COLUMNS = (MONTH, *HOTLINE_CHANNEL_COLUMNS.values(), CONTACTS_TOTAL)
HOTLINE_TRUTH_COLUMNS = (MONTH, TRUE_INCIDENCE)
HOTLINE_EVENTS_COLUMNS = ("eventId", "startMonth", "endMonth", "effect", "channels", "description")

# --------------------------------------------------------------------------
# List overlap (multiple systems estimation lab)
# --------------------------------------------------------------------------

#: The four lists; each is a 0/1 column of the capture histories.
OVERLAP_LISTS = ("police", "ngo", "health", "hotline")
LIST_OVERLAP_COLUMNS = ("personId", *OVERLAP_LISTS, "sector", "region")
LIST_OVERLAP_TRUTH_COLUMNS = ("scenario", "sector", "trueTotal", "observedTotal")

# --------------------------------------------------------------------------
# Supply chain (social-audit lab)
# --------------------------------------------------------------------------

#: The ILO's eleven indicators of forced labour (ILO 2012), CSV column -> official name.
INDICATORS = {
    "abuseOfVulnerability": "Abuse of vulnerability",
    "deception": "Deception",
    "restrictionOfMovement": "Restriction of movement",
    "isolation": "Isolation",
    "physicalAndSexualViolence": "Physical and sexual violence",
    "intimidationAndThreats": "Intimidation and threats",
    "retentionOfIdentityDocuments": "Retention of identity documents",
    "withholdingOfWages": "Withholding of wages",
    "debtBondage": "Debt bondage",
    "abusiveWorkingAndLivingConditions": "Abusive working and living conditions",
    "excessiveOvertime": "Excessive overtime",
}
INDICATOR_COLUMNS = tuple(INDICATORS)

#: The buyer's "zero-tolerance" findings: an audit that records any of them fails.
#: In this synthetic world every site in forced labour shows at least one of them.
ZERO_TOLERANCE = (
    "restrictionOfMovement",
    "physicalAndSexualViolence",
    "intimidationAndThreats",
    "retentionOfIdentityDocuments",
    "withholdingOfWages",
    "debtBondage",
)

TIERS = (1, 2, 3)
NOTICES = ("announced", "unannounced")
PAYERS = ("supplier", "buyer")
#: The outcome of an audit, exactly as the audits table writes it.
RESULTS = ("pass", "fail")
#: Who made a worker-voice report.
REPORTER_GROUPS = ("local", "migrant")
SUPPLY_SITES_COLUMNS = ("siteId", "tier", "sector", "visibleToBuyer", "workers", "migrantShare", "workerVoice")
SUPPLY_TRUTH_COLUMNS = ("siteId", *INDICATOR_COLUMNS, "forcedLabour")
SUPPLY_AUDITS_COLUMNS = ("auditId", "siteId", "year", "notice", "payer", *INDICATOR_COLUMNS, "result")
SUPPLY_REPORTS_COLUMNS = ("reportId", "siteId", "year", "indicator", "reporterGroup")

# --------------------------------------------------------------------------
# The two tables written by hand (not generated)
# --------------------------------------------------------------------------

GLOBAL_ESTIMATES_COLUMNS = ("estimate_year", "published_year", "measure", "part_of", "people_millions", "source")
IMAGES_LICENCES_COLUMNS = ("image", "source", "licence", "verified")

# --------------------------------------------------------------------------
# Published multiple-systems tables (real aggregate counts, not generated):
# one 0/1 column per list, as the studies label them, then the count.
# --------------------------------------------------------------------------

MSE_COUNT = "count"
MSE_TABLE_COLUMNS = {
    "mse_uk_2013_6lists.csv": ("LA", "NG", "PF", "GO", "GP", "NCA", MSE_COUNT),
    "mse_uk_2013_5lists.csv": ("LA", "NG", "PFNCA", "GO", "GP", MSE_COUNT),
    "mse_netherlands_6lists.csv": ("I", "K", "O", "P", "R", "Z", MSE_COUNT),
    "mse_us_western_5lists.csv": ("A", "B", "C", "D", "E", MSE_COUNT),
    "mse_new_orleans_8lists.csv": ("A", "B", "C", "D", "E", "F", "G", "H", MSE_COUNT),
    "mse_kosovo_4lists.csv": ("EXH", "ABA", "OSCE", "HRW", MSE_COUNT),
}

#: The UK National Referral Mechanism's quarterly referrals (official statistics, not generated).
NRM_REFERRALS_COLUMNS = ("year", "quarter", "ageGroup", "location", "referrals")
#: The same referrals by first-responder type, exploitation type and age group (2022 Q2 to 2023 Q4).
NRM_BY_TYPE_COLUMNS = ("year", "quarter", "responderType", "exploitationType", "ageGroup", "referrals")

#: CSV file name -> its columns, in file order: every table in ``datasets/``.
COLUMNS: dict[str, tuple[str, ...]] = {
    "case_records_clean.csv": CASE_RECORDS_COLUMNS,
    "case_records_raw.csv": CASE_RECORDS_COLUMNS,
    "case_records_defects.csv": CASE_RECORDS_DEFECTS_COLUMNS,
    "list_overlap_dependent.csv": LIST_OVERLAP_COLUMNS,
    "list_overlap_independent.csv": LIST_OVERLAP_COLUMNS,
    "list_overlap_truth.csv": LIST_OVERLAP_TRUTH_COLUMNS,
    "ad_screening.csv": AD_SCREENING_COLUMNS,
    "hotline_contacts.csv": HOTLINE_CONTACTS_COLUMNS,
    "hotline_truth.csv": HOTLINE_TRUTH_COLUMNS,
    "hotline_events.csv": HOTLINE_EVENTS_COLUMNS,
    "listings.csv": LISTINGS_COLUMNS,
    "listings_truth.csv": LISTINGS_TRUTH_COLUMNS,
    "supply_sites.csv": SUPPLY_SITES_COLUMNS,
    "supply_truth.csv": SUPPLY_TRUTH_COLUMNS,
    "supply_audits.csv": SUPPLY_AUDITS_COLUMNS,
    "supply_reports.csv": SUPPLY_REPORTS_COLUMNS,
    "global_estimates.csv": GLOBAL_ESTIMATES_COLUMNS,
    "images_licences.csv": IMAGES_LICENCES_COLUMNS,
    **MSE_TABLE_COLUMNS,
    "nrm_referrals_quarterly.csv": NRM_REFERRALS_COLUMNS,
    "nrm_referrals_by_type.csv": NRM_BY_TYPE_COLUMNS,
}


class SchemaMismatchError(ValueError):
    """A table's columns are not the ones :data:`COLUMNS` declares for its file."""


def check_columns(filename: str, columns) -> None:
    """Raise :class:`SchemaMismatchError` unless ``columns`` are exactly :data:`COLUMNS` ``[filename]``, in order.

    A file this module does not declare is an error too: every table in
    ``datasets/`` is declared here.
    """
    if filename not in COLUMNS:
        raise SchemaMismatchError(f"{filename} is not declared in htcourse.schema.COLUMNS: add its columns there")
    columns, expected = tuple(columns), COLUMNS[filename]
    if columns != expected:
        missing = [c for c in expected if c not in columns]
        extra = [c for c in columns if c not in expected]
        detail = f"missing {missing}, unexpected {extra}" if missing or extra else "same names, other order"
        raise SchemaMismatchError(f"{filename}: columns differ from htcourse.schema ({detail})")
