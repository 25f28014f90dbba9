"""Tests of htcourse.imagematch: hand-computed distances and rates, hashing, edits, charts and image licences."""

from __future__ import annotations

import json
import math
import re
import shutil

import imagehash
import nbformat
import numpy as np
import pandas as pd
import pytest

from htcourse import charts, imagematch
from htcourse.paths import REPO_ROOT

LAB = REPO_ROOT / "book" / "modules" / "04-digital-policing" / "lab-image-matching.ipynb"
MANIFEST = REPO_ROOT / "datasets" / "images_licences.csv"
DATASHEET = REPO_ROOT / "datasets" / "images.md"

#: Every manifest name the module (and so the lab) can use.
USED = (
    [imagematch.BUNDLED_PREFIX + n for n in imagematch.KNOWN_IMAGES + imagematch.TILE_IMAGES]
    + [imagematch.SYNTHETIC_PREFIX + f for f in imagematch.SYNTHETIC_FAMILIES]
    + [imagematch.CAPTION_ENTRY]
)


@pytest.fixture(scope="module")
def known():
    return imagematch.bundled_images(("chelsea", "coffee", "rocket"))


# --------------------------------------------------------------------------
# Hamming distance and packed hashes
# --------------------------------------------------------------------------


def test_hamming_on_integers_worked_by_hand():
    assert imagematch.hamming(0b1011, 0b0010) == 2  # bits 0 and 3 differ
    assert imagematch.hamming(0b1011, 0b1011) == 0
    assert imagematch.hamming(0, 0b1111) == 4
    assert imagematch.hamming(np.uint64(2**63), 0) == 1
    with pytest.raises(ValueError):
        imagematch.hamming(-1, 0)


def test_hamming_on_bit_arrays_and_imagehash_objects():
    a, b = [1, 0, 1, 1], [0, 0, 1, 0]
    assert imagematch.hamming(a, b) == 2
    assert imagematch.hamming(np.array(a, bool), np.array(a, bool)) == 0
    bits_a = np.zeros((8, 8), bool)
    bits_b = bits_a.copy()
    bits_b[0, :3] = True  # three bits differ
    ha, hb = imagehash.ImageHash(bits_a), imagehash.ImageHash(bits_b)
    assert imagematch.hamming(ha, hb) == 3 == ha - hb
    assert imagematch.hamming(ha, ha) == 0
    with pytest.raises(ValueError):
        imagematch.hamming([1, 0], [1, 0, 1])


def test_packed_codes_and_pairwise_distances_by_hand():
    zeros = np.zeros(64, bool)
    ones = np.ones(64, bool)
    eight = np.zeros(64, bool)
    eight[:8] = True
    codes = imagematch.hash_codes([zeros, ones, eight])
    assert codes.dtype == np.uint64 and codes.tolist() == [0, 2**64 - 1, 0xFF << 56]
    # order (0,1), (0,2), (1,2)
    assert imagematch.pairwise_distances(codes).tolist() == [64, 8, 56]
    assert imagematch.close_pairs(codes, 8).tolist() == [[0, 2]]
    assert imagematch.pairwise_distances(codes[:1]).size == 0


def test_packed_distances_agree_with_imagehash(known):
    hashes = [imagematch.hash_image(image) for image in known.values()]
    codes = imagematch.hash_codes(hashes)
    expected = [hashes[i] - hashes[j] for i in range(len(hashes)) for j in range(i + 1, len(hashes))]
    assert imagematch.pairwise_distances(codes).tolist() == expected


# --------------------------------------------------------------------------
# Threshold metrics
# --------------------------------------------------------------------------

# Worked by hand at threshold 10 (match: distance <= 10):
#   edited copies  0, 2, 4 match; 12 does not        -> 3 of 4 true matches
#   unrelated      1, 10 match; 11, 30, 40 do not     -> 2 of 5 false matches
SAME = [0, 2, 4, 12]
DIFFERENT = [1, 10, 11, 30, 40]


def test_match_rates_on_a_hand_made_list():
    rates = imagematch.match_rates(SAME, DIFFERENT, 10)
    assert rates["true_matches"] == 3 and rates["same_pairs"] == 4
    assert rates["false_matches"] == 2 and rates["different_pairs"] == 5
    assert rates["true_match_rate"] == pytest.approx(0.75)
    assert rates["false_match_rate"] == pytest.approx(0.4)
    strict = imagematch.match_rates(SAME, DIFFERENT, 0)  # only exact hash equality matches
    assert strict["true_match_rate"] == pytest.approx(0.25) and strict["false_match_rate"] == 0
    assert math.isnan(imagematch.match_rates([], DIFFERENT, 10)["true_match_rate"])


def test_threshold_sweep_agrees_with_match_rates_at_every_threshold():
    sweep = imagematch.threshold_sweep(SAME, DIFFERENT)
    assert sweep["threshold"].tolist() == list(range(65))
    for threshold in (0, 1, 4, 10, 11, 12, 39, 40, 64):
        row = sweep.iloc[threshold]
        rates = imagematch.match_rates(SAME, DIFFERENT, threshold)
        assert row.true_matches == rates["true_matches"] and row.false_matches == rates["false_matches"]
        assert row.false_match_rate == pytest.approx(rates["false_match_rate"])


def test_distance_counts_add_up():
    counts = imagematch.distance_counts(SAME, DIFFERENT)
    assert counts.groupby("pairs")["count"].sum().to_dict() == {"edited copy": 4, "unrelated": 5}
    assert counts.groupby("pairs")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert (counts["count"] > 0).all()


def test_false_matches_by_family_by_hand():
    zeros = np.zeros(64, bool)
    near = zeros.copy()
    near[:2] = True  # 2 bits from zeros
    far = np.ones(64, bool)
    codes = imagematch.hash_codes([zeros, near, far, far])
    table = imagematch.false_matches_by_family(codes, ["a", "a", "b", "a"], threshold=2)
    rows = {(r.family_a, r.family_b): (r.pairs, r.false_matches) for r in table.itertuples()}
    # a-a pairs: (0,1) d=2 match, (0,3) d=64, (1,3) d=62 -> 3 pairs, 1 match
    # a-b pairs: (0,2), (1,2) far, (3,2) d=0 match       -> 3 pairs, 1 match
    assert rows == {("a", "a"): (3, 1), ("a", "b"): (3, 1), ("b", "b"): (0, 0)}


def test_expected_false_reports_formula():
    assert imagematch.expected_false_reports(0.0, 1e9, 1_000_000) == 0
    assert imagematch.expected_false_reports(1e-3, 1_000, 1) == pytest.approx(1.0)
    # 1e9 uploads x (1 - (1 - 1e-9) ** 1e6) = 1e9 x (1 - exp(-1e-3)) to within 1e-12
    assert imagematch.expected_false_reports(1e-9, 1e9, 1_000_000) == pytest.approx(1e9 * -math.expm1(-1e-3))
    assert imagematch.expected_false_reports(1e-15, 1e9, 10) == pytest.approx(
        1e9 * 1e-14
    )  # tiny: rate x list x uploads
    assert imagematch.expected_false_reports(0.5, 100, 2) == pytest.approx(75)  # 1 - 0.5 ** 2
    assert imagematch.expected_false_reports(1.0, 100, 3) == 100
    for bad in ((-0.1, 1, 1), (1.1, 1, 1), (0.1, -1, 1), (0.1, 1, -1)):
        with pytest.raises(ValueError):
            imagematch.expected_false_reports(*bad)


def test_rate_upper_bound():
    n = 1_000_000
    assert imagematch.rate_upper_bound(0, n) == pytest.approx(1 - 0.05 ** (1 / n))
    assert imagematch.rate_upper_bound(0, n) == pytest.approx(3 / n, rel=0.01)  # the rule of three
    assert imagematch.rate_upper_bound(5, 100) > 0.05
    assert imagematch.rate_upper_bound(3, 3) == 1.0
    with pytest.raises(ValueError):
        imagematch.rate_upper_bound(4, 3)


# --------------------------------------------------------------------------
# Hashing, edits and images
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", imagematch.METHODS)
def test_the_same_image_hashes_identically(known, method):
    image = known["chelsea"]
    first = imagematch.hash_image(image, method)
    assert imagematch.hamming(first, imagematch.hash_image(image.copy(), method)) == 0
    assert imagematch.hamming(first, imagematch.hash_image(np.asarray(image), method)) == 0
    assert str(first) == str(imagematch.hash_image(image, method))


def test_unknown_method_and_edit_are_refused(known):
    with pytest.raises(ValueError):
        imagematch.hash_image(known["chelsea"], "md5")
    with pytest.raises(ValueError):
        imagematch.apply_edit(known["chelsea"], "blur", np.random.default_rng(0))


@pytest.mark.parametrize("edit", ["resize", "jpeg"])
def test_a_mild_edit_stays_under_the_threshold_and_unrelated_images_do_not(known, edit):
    cat = known["chelsea"]
    edited, _ = imagematch.apply_edit(cat, edit, np.random.default_rng(0))
    original = imagematch.hash_image(cat)
    assert imagematch.hamming(original, imagematch.hash_image(edited)) <= imagematch.THRESHOLD
    assert imagematch.hamming(original, imagematch.hash_image(known["coffee"])) > imagematch.THRESHOLD
    noise = imagematch.synthetic_images(1, seed=0, families=("noise",))[0].image
    assert imagematch.hamming(original, imagematch.hash_image(noise)) > imagematch.THRESHOLD


def test_a_mirrored_copy_looks_unrelated(known):
    for image in known.values():
        mirrored, _ = imagematch.apply_edit(image, "mirror", np.random.default_rng(0))
        assert imagematch.hamming(imagematch.hash_image(image), imagematch.hash_image(mirrored)) > imagematch.THRESHOLD


@pytest.mark.parametrize("edit", imagematch.EDITS)
def test_every_edit_changes_a_copy_and_leaves_the_original(known, edit):
    cat = known["chelsea"]
    before = np.asarray(cat).copy()
    edited, setting = imagematch.apply_edit(cat, edit, np.random.default_rng(1))
    assert np.array_equal(np.asarray(cat), before)
    assert isinstance(setting, str) and setting
    assert edited.size != cat.size or not np.array_equal(np.asarray(edited.convert("RGB")), before)
    again, same_setting = imagematch.apply_edit(cat, edit, np.random.default_rng(1))
    assert same_setting == setting and np.array_equal(np.asarray(again), np.asarray(edited))


def test_distance_table_has_one_row_per_copy_and_method(known):
    table = imagematch.distance_table(known, edits=("resize", "mirror"), repeats=2, seed=3, methods=("phash", "dhash"))
    assert len(table) == len(known) * 2 * 2 * 2
    assert set(table.columns) == {"image", "edit", "repeat", "setting", "method", "distance"}
    assert table["distance"].between(0, 64).all()
    assert table.equals(
        imagematch.distance_table(known, edits=("resize", "mirror"), repeats=2, seed=3, methods=("phash", "dhash"))
    )


def test_synthetic_images_are_reproducible_and_balanced():
    first = imagematch.synthetic_images(50, size=32, seed=5)
    again = imagematch.synthetic_images(50, size=32, seed=5)
    other = imagematch.synthetic_images(50, size=32, seed=6)
    assert [im.family for im in first] == list(imagematch.SYNTHETIC_FAMILIES) * 10
    assert all(im.image.size == (32, 32) for im in first)
    assert all(np.array_equal(np.asarray(a.image), np.asarray(b.image)) for a, b in zip(first, again))
    assert not all(np.array_equal(np.asarray(a.image), np.asarray(b.image)) for a, b in zip(first, other))
    with pytest.raises(ValueError):
        imagematch.synthetic_images(5, families=("faces",))


def test_tiles_do_not_overlap_and_cover_whole_tiles_only():
    from skimage import data as skdata

    tiles = imagematch.tiles(("text",), size=64)
    height, width = skdata.text().shape[:2]
    assert len(tiles) == (height // 64) * (width // 64)
    assert all(t.image.size == (64, 64) and t.family == "tile" and t.name == "skimage:text" for t in tiles)
    codes = imagematch.hashes_of(tiles)
    assert len(set(codes.tolist())) > 1


def test_charts_pass_the_course_chart_rules():
    counts = imagematch.distance_counts(SAME, DIFFERENT)
    sweep = imagematch.threshold_sweep(SAME, DIFFERENT)
    for chart in (imagematch.distance_chart(counts, 10), imagematch.false_match_chart(sweep, 10)):
        spec = chart.properties(description="A test description.").to_dict()
        assert charts.check_spec(spec) == "A test description."
        assert len(json.dumps(spec)) < charts.MAX_SPEC_BYTES
        with pytest.raises(charts.ChartError):
            charts.check_spec(chart.to_dict())  # no description yet


# --------------------------------------------------------------------------
# Licences
# --------------------------------------------------------------------------


def test_manifest_is_complete_and_allows_only_cc0_or_public_domain():
    table = imagematch.image_licences(MANIFEST)
    assert list(table.columns) == list(imagematch.MANIFEST_COLUMNS)
    assert table["licence"].str.startswith(imagematch.ALLOWED_LICENCES).all()
    assert table["image"].str.match(r"^(skimage:|synthetic:|images/)").all()


def test_every_image_the_lab_uses_has_a_licence_entry():
    entries = imagematch.check_licences(USED, MANIFEST)
    assert entries["image"].tolist() == USED


def test_every_stored_image_file_has_a_licence_entry():
    imagematch.check_licences(imagematch.stored_image_files(), MANIFEST)


def test_no_stale_manifest_entries():
    stored = imagematch.stored_image_files()
    unused = set(imagematch.image_licences(MANIFEST)["image"]) - set(USED) - set(stored)
    assert not unused, f"manifest entries for images nothing uses or stores: {sorted(unused)}"


def test_datasheet_table_lists_every_manifest_entry():
    text = DATASHEET.read_text(encoding="utf-8")
    for name in imagematch.image_licences(MANIFEST)["image"]:
        assert re.search(rf"^\|\s*`{re.escape(name)}`", text, flags=re.M), f"{name} is not in the datasheet's table"


def test_the_lab_gets_images_only_through_the_checked_functions():
    code = "\n".join(c.source for c in nbformat.read(LAB, as_version=4).cells if c.cell_type == "code")
    assert "skimage" not in code and "Image.open" not in code and "imread" not in code


def _manifest_without(tmp_path, name):
    table = pd.read_csv(MANIFEST, dtype=str, keep_default_na=False)
    assert name in set(table["image"])
    path = tmp_path / "images_licences.csv"
    table[table["image"] != name].to_csv(path, index=False)
    return path


def test_a_missing_entry_fails(tmp_path, monkeypatch):
    path = _manifest_without(tmp_path, "skimage:chelsea")
    with pytest.raises(imagematch.LicenceError, match="skimage:chelsea"):
        imagematch.check_licences(USED, path)
    # and the functions the lab calls refuse the image (the manifest is read from the datasets folder)
    monkeypatch.setenv("HTCOURSE_DATASETS", str(tmp_path))
    with pytest.raises(imagematch.LicenceError, match="skimage:chelsea"):
        imagematch.bundled_images(("coffee", "chelsea"))
    imagematch.bundled_images(("coffee",))  # a listed image still loads


def test_a_missing_synthetic_or_caption_entry_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("HTCOURSE_DATASETS", str(tmp_path))
    _manifest_without(tmp_path, "synthetic:stripes")
    with pytest.raises(imagematch.LicenceError, match="synthetic:stripes"):
        imagematch.synthetic_images(10)
    _manifest_without(tmp_path, imagematch.CAPTION_ENTRY)
    with pytest.raises(imagematch.LicenceError, match="caption_band"):
        imagematch.distance_table({"x": np.zeros((32, 32), np.uint8)}, edits=("caption",), repeats=1)


def test_a_stored_file_without_an_entry_fails(tmp_path):
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "photo.png").write_bytes(b"not really a png")
    stored = imagematch.stored_image_files(folder)
    assert stored == ["images/sub/photo.png"]
    with pytest.raises(imagematch.LicenceError, match="images/sub/photo.png"):
        imagematch.check_licences(stored, MANIFEST)


def test_a_licence_that_is_not_cc0_or_public_domain_fails(tmp_path):
    path = tmp_path / "images_licences.csv"
    shutil.copy(MANIFEST, path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[table["image"] == "skimage:coffee", "licence"] = "CC BY 4.0"
    table.to_csv(path, index=False)
    with pytest.raises(imagematch.LicenceError, match="not allowed"):
        imagematch.check_licences(["skimage:coffee"], path)


def test_a_malformed_manifest_fails(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("image,source,licence,verified\nskimage:coffee,somewhere,CC0-1.0,\n", encoding="utf-8")
    with pytest.raises(imagematch.LicenceError, match="empty"):
        imagematch.image_licences(path)
    path.write_text("image,source,licence\nskimage:coffee,somewhere,CC0-1.0\n", encoding="utf-8")
    with pytest.raises(imagematch.LicenceError, match="verified"):
        imagematch.image_licences(path)
    path.write_text("image,source,licence,verified\na,b,CC0-1.0,d\na,b,CC0-1.0,d\n", encoding="utf-8")
    with pytest.raises(imagematch.LicenceError, match="more than once"):
        imagematch.image_licences(path)
