"""Matching known images by perceptual hash: hashes, edits, distances, error rates and licences.

A *perceptual hash* summarises what an image looks like in a few bits, so
that an edited copy (resized, recompressed, slightly cropped) gets a hash
close to the original's. Two hashes are compared by their *Hamming
distance*: the number of bits in which they differ (0 = identical hashes;
64 = every bit differs for the 64-bit hashes used here). Two images
*match* when the distance is at or below a threshold
(``distance <= threshold``).

* A *true match* is an edited copy of a listed image that matches it; the
  *true-match rate* is the share of edited copies that match.
* A *false match* is a pair of unrelated images that match; the
  *false-match rate* is the share of unrelated pairs that match.

The hashes are computed by the maintained ``imagehash`` library (pHash,
dHash, aHash). Every image comes either from scikit-image's bundled sample
images (only those whose documented licence is CC0 or public domain) or is
drawn by this module from a seeded random number generator. The licence of
each is listed in ``datasets/images_licences.csv``; :func:`bundled_images`
and :func:`synthetic_images` refuse to return an image without an entry
(:func:`check_licences`). No image file is written anywhere.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from htcourse.checks import check_hash_bits

#: Match threshold (Hamming distance, out of 64 bits) used by the lab.
THRESHOLD = 10
#: Bits in a hash with the default ``hash_size`` of 8.
HASH_BITS = 64

#: Bundled photographs that stand in for a list of "known" images.
KNOWN_IMAGES = ("chelsea", "coffee", "rocket", "clock", "hubble_deep_field", "horse")
#: Bundled texture images cut into tiles that stand in for unrelated uploads.
TILE_IMAGES = ("brick", "grass", "gravel", "cell", "text")
#: Families of images drawn by :func:`synthetic_images`.
SYNTHETIC_FAMILIES = ("noise", "blobs", "gradient", "shapes", "stripes")
#: Edits :func:`apply_edit` can make, mildest first, roughly.
EDITS = ("resize", "jpeg", "crop", "rotate", "caption", "mirror")
#: Hash functions of ``imagehash`` that :func:`hash_image` can use.
METHODS = ("phash", "dhash", "ahash")

#: Manifest entry names: bundled images are ``skimage:<name>``, drawn ones ``synthetic:<family>``.
BUNDLED_PREFIX = "skimage:"
SYNTHETIC_PREFIX = "synthetic:"
#: Entry for the caption band :func:`apply_edit` draws (text rendered with Pillow's default font).
CAPTION_ENTRY = "synthetic:caption_band"
MANIFEST = "images_licences"
MANIFEST_COLUMNS = ("image", "source", "licence", "verified")
#: The only licences the course accepts for images.
ALLOWED_LICENCES = ("CC0-1.0", "Public domain")

#: Neutral words for the caption band.
CAPTION_WORDS = ("hello", "on holiday", "my lunch", "good morning", "look at this", "weekend")


class LicenceError(ValueError):
    """An image has no entry in the licence manifest, or its licence is not allowed."""


class LabeledImage(NamedTuple):
    """An image with the name of its manifest entry and the family it belongs to."""

    name: str
    family: str
    image: object  # PIL.Image.Image


# --------------------------------------------------------------------------
# Licences
# --------------------------------------------------------------------------


def manifest_path() -> Path:
    """The licence manifest, ``images_licences.csv`` in the datasets folder."""
    from htcourse import data

    return data.path(MANIFEST)


def stored_images_dir() -> Path:
    """``datasets/images/`` in the repository: where image files would be stored, if any were."""
    from htcourse.paths import REPO_ROOT

    return REPO_ROOT / "datasets" / "images"


def stored_image_files(folder: Path | None = None) -> list[str]:
    """Every file under ``folder`` (default :func:`stored_images_dir`), as manifest names ``images/<path>``."""
    folder = stored_images_dir() if folder is None else Path(folder)
    if not folder.is_dir():
        return []
    return sorted(f"images/{p.relative_to(folder).as_posix()}" for p in folder.rglob("*") if p.is_file())


def image_licences(path: Path | str | None = None) -> pd.DataFrame:
    """Read the licence manifest (columns ``image, source, licence, verified``), one row per image.

    Raises :class:`LicenceError` if a column is missing, a cell is empty or an image is listed twice.
    """
    path = manifest_path() if path is None else Path(path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise LicenceError(f"{path} lacks the columns {missing}")
    empty = table[(table[list(MANIFEST_COLUMNS)].apply(lambda col: col.str.strip()) == "").any(axis=1)]
    if len(empty):
        raise LicenceError(f"{path} has empty cells for {empty['image'].tolist()}")
    duplicated = table.loc[table["image"].duplicated(), "image"].tolist()
    if duplicated:
        raise LicenceError(f"{path} lists {duplicated} more than once")
    return table


def check_licences(names, manifest: Path | str | pd.DataFrame | None = None) -> pd.DataFrame:
    """Check that every image name has an entry with an allowed licence; return those entries.

    ``names`` are manifest names (``skimage:chelsea``, ``synthetic:noise``,
    ``images/<file>``). ``manifest`` is a path or an already-read table
    (default: :func:`image_licences`). Raises :class:`LicenceError` naming
    every image without an entry, or whose licence is not one of
    :data:`ALLOWED_LICENCES` (CC0 or public domain).
    """
    table = manifest if isinstance(manifest, pd.DataFrame) else image_licences(manifest)
    names = list(dict.fromkeys(names))
    listed = table.set_index("image")
    unlisted = [n for n in names if n not in listed.index]
    if unlisted:
        raise LicenceError(
            f"no licence entry for {unlisted}: add a row (image, source, licence, verified) to "
            "datasets/images_licences.csv, or do not use the image"
        )
    entries = listed.loc[names].reset_index()
    bad = entries[~entries["licence"].str.startswith(ALLOWED_LICENCES)]
    if len(bad):
        raise LicenceError(f"licences not allowed (only CC0 or public domain): {dict(zip(bad.image, bad.licence))}")
    return entries


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


def _to_pil(image):
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    array = np.asarray(image)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(array)


def _shrink(image, max_side: int):
    """A copy no larger than ``max_side`` pixels on its longer side (aspect kept)."""
    scale = max_side / max(image.size)
    if scale >= 1:
        return image.copy()
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, resample=3)  # bicubic


def _load_bundled(name: str):
    from skimage import data as skdata

    array = getattr(skdata, name)()
    if array.dtype == bool:  # the horse is a silhouette: draw it black on white
        array = np.where(array, 0, 255).astype(np.uint8)
    return _to_pil(array).convert("RGB")


def bundled_images(names=KNOWN_IMAGES, max_side: int = 320) -> dict:
    """scikit-image sample images as RGB Pillow images, shrunk to at most ``max_side`` pixels.

    Each name must have a licence entry ``skimage:<name>`` (checked first).
    """
    names = tuple(names)
    check_licences([BUNDLED_PREFIX + n for n in names])
    return {name: _shrink(_load_bundled(name), max_side) for name in names}


def tiles(names=TILE_IMAGES, size: int = 64) -> list[LabeledImage]:
    """Non-overlapping ``size`` x ``size`` tiles of bundled images (whole tiles only, row by row).

    Tiles never overlap, so no two tiles show the same pixels. The family of
    each tile is ``"tile"``; its name is the bundled image's manifest entry.
    """
    names = tuple(names)
    check_licences([BUNDLED_PREFIX + n for n in names])
    out = []
    for name in names:
        image = _load_bundled(name).convert("L")
        for top in range(0, image.height - size + 1, size):
            for left in range(0, image.width - size + 1, size):
                out.append(
                    LabeledImage(BUNDLED_PREFIX + name, "tile", image.crop((left, top, left + size, top + size)))
                )
    return out


def _noise(rng, k, size):
    return rng.integers(0, 256, (k, size, size)).astype(float)


def _blobs(rng, k, size):
    # Gaussian smoothing of white noise, done in the frequency domain for all images at once
    # (equivalent to a Gaussian filter that wraps around the edges).
    noise = rng.normal(size=(k, size, size))
    sigma = rng.uniform(2, 8, (k, 1, 1))
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    kernel = np.exp(-2 * np.pi**2 * sigma**2 * (fy**2 + fx**2))
    out = np.fft.irfft2(np.fft.rfft2(noise) * kernel, s=(size, size))
    out -= out.min(axis=(1, 2), keepdims=True)
    out /= out.max(axis=(1, 2), keepdims=True)
    return out * 255


def _grid(size):
    y, x = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
    return y[None], x[None]


def _gradient(rng, k, size):
    y, x = _grid(size)
    angle = rng.uniform(0, 2 * np.pi, (k, 1, 1))
    ramp = np.cos(angle) * x + np.sin(angle) * y
    low, high = rng.uniform(0, 100, (k, 1, 1)), rng.uniform(155, 255, (k, 1, 1))
    ramp = (ramp - ramp.min(axis=(1, 2), keepdims=True)) / np.ptp(ramp, axis=(1, 2), keepdims=True)
    return low + (high - low) * ramp + rng.normal(0, 4, (k, size, size))


def _stripes(rng, k, size):
    y, x = _grid(size)
    angle = rng.uniform(0, np.pi, (k, 1, 1))
    cycles = rng.uniform(1.5, 8, (k, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (k, 1, 1))
    wave = np.sin(2 * np.pi * cycles * (np.cos(angle) * x + np.sin(angle) * y) + phase)
    return 128 + 100 * wave + rng.normal(0, 4, (k, size, size))


def _shapes(rng, k, size):
    y, x = _grid(size)
    out = np.repeat(rng.uniform(0, 255, (k, 1, 1)), size, axis=1).repeat(size, axis=2)
    for _ in range(4):
        draw = rng.random((k, 1, 1)) < 0.75
        cy, cx = rng.uniform(-0.4, 0.4, (2, k, 1, 1))
        ry, rx = rng.uniform(0.08, 0.35, (2, k, 1, 1))
        ellipse = rng.random((k, 1, 1)) < 0.5
        inside = np.where(
            ellipse,
            ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1,
            (np.abs(y - cy) <= ry) & (np.abs(x - cx) <= rx),
        )
        out = np.where(inside & draw, rng.uniform(0, 255, (k, 1, 1)), out)
    return out + rng.normal(0, 4, (k, size, size))


_GENERATORS = {"noise": _noise, "blobs": _blobs, "gradient": _gradient, "shapes": _shapes, "stripes": _stripes}


def synthetic_images(n: int, size: int = 64, seed: int = 0, families=SYNTHETIC_FAMILIES) -> list[LabeledImage]:
    """``n`` greyscale images drawn from a NumPy generator seeded with ``seed``.

    The families (:data:`SYNTHETIC_FAMILIES`): uniform ``noise``; smooth
    random ``blobs``; linear ``gradient`` ramps at random angles; ``shapes``
    (up to four rectangles and ellipses on a plain background); and
    sinusoidal ``stripes``. Families are assigned in turn (image ``i`` gets
    family ``i mod len(families)``), so each has about ``n / len(families)``
    images. The same ``n``, ``size``, ``seed`` and ``families`` always give
    the same images.
    """
    families = tuple(families)
    unknown = set(families) - set(_GENERATORS)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; choose from {SYNTHETIC_FAMILIES}")
    if n < 0 or size < 8:
        raise ValueError("n must be >= 0 and size >= 8")
    check_licences([SYNTHETIC_PREFIX + f for f in families])
    rng = np.random.default_rng(seed)
    arrays: list = [None] * n
    for f, family in enumerate(families):
        positions = range(f, n, len(families))
        batch = _GENERATORS[family](rng, len(positions), size)
        for position, array in zip(positions, np.clip(batch, 0, 255).astype(np.uint8)):
            arrays[position] = (family, array)
    return [LabeledImage(SYNTHETIC_PREFIX + family, family, _to_pil(array)) for family, array in arrays]


# --------------------------------------------------------------------------
# Edits
# --------------------------------------------------------------------------


def _caption(image, rng):
    from PIL import ImageDraw, ImageFont

    out = image.convert("RGB")
    band = max(4, round(out.height * rng.uniform(0.10, 0.20)))
    top = 0 if rng.random() < 0.5 else out.height - band
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, top, out.width, top + band), fill=(0, 0, 0))
    word = CAPTION_WORDS[rng.integers(len(CAPTION_WORDS))]
    font = ImageFont.load_default(size=max(6, round(band * 0.6)))
    draw.text((round(band * 0.3), top + round(band * 0.15)), word, fill=(255, 255, 255), font=font)
    return out, f"{band / out.height:.0%} band: {word!r}"


def apply_edit(image, edit: str, rng: np.random.Generator):
    """Return ``(edited_image, setting)``: a copy of ``image`` with one realistic edit.

    ``setting`` describes the random strength chosen with ``rng``:

    * ``resize``: scale by 0.3 to 0.9 (as when a platform shrinks an upload);
    * ``jpeg``: re-save as JPEG at quality 20 to 70;
    * ``crop``: cut 2% to 12% of the width and of the height, split at random between the sides;
    * ``rotate``: turn by 1 to 5 degrees either way (corners filled black, size kept);
    * ``caption``: a black band of 10% to 20% of the height, at the top or bottom, with a short word in white
      (drawn with Pillow's default font);
    * ``mirror``: flip left to right (no randomness).

    The original is not changed.
    """
    from PIL import Image, ImageOps

    image = _to_pil(image)
    if edit == "resize":
        scale = rng.uniform(0.3, 0.9)
        size = (max(8, round(image.width * scale)), max(8, round(image.height * scale)))
        return image.resize(size, resample=Image.Resampling.BILINEAR), f"scale {scale:.2f}"
    if edit == "jpeg":
        quality = int(rng.integers(20, 71))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        return Image.open(buffer).convert("RGB"), f"quality {quality}"
    if edit == "crop":
        share_x, share_y = rng.uniform(0.02, 0.12, 2)
        left_part, top_part = rng.uniform(0, 1, 2)
        cut_x, cut_y = share_x * image.width, share_y * image.height
        box = (
            round(cut_x * left_part),
            round(cut_y * top_part),
            image.width - round(cut_x * (1 - left_part)),
            image.height - round(cut_y * (1 - top_part)),
        )
        return image.crop(box), f"{share_x:.0%} of width, {share_y:.0%} of height"
    if edit == "rotate":
        degrees = rng.uniform(1, 5) * rng.choice([-1, 1])
        return image.rotate(degrees, resample=Image.Resampling.BICUBIC), f"{degrees:+.1f} degrees"
    if edit == "caption":
        return _caption(image, rng)
    if edit == "mirror":
        return ImageOps.mirror(image), "left to right"
    raise ValueError(f"unknown edit {edit!r}; choose from {EDITS}")


# --------------------------------------------------------------------------
# Hashes and distances
# --------------------------------------------------------------------------


def hash_image(image, method: str = "phash", hash_size: int = 8):
    """The ``imagehash`` hash of ``image`` (a Pillow image or an array): ``phash``, ``dhash`` or ``ahash``.

    With ``hash_size=8`` the hash has 64 bits. The same pixels always give the same hash.
    """
    import imagehash

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    function = {"phash": imagehash.phash, "dhash": imagehash.dhash, "ahash": imagehash.average_hash}[method]
    return function(_to_pil(image), hash_size=hash_size)


def _bits(value) -> np.ndarray:
    if hasattr(value, "hash"):  # an imagehash.ImageHash
        return np.asarray(value.hash, dtype=bool).ravel()
    return np.asarray(value, dtype=bool).ravel()


def hamming(a, b) -> int:
    """Number of bits in which ``a`` and ``b`` differ.

    Both are ``imagehash`` hashes, equal-length arrays of bits (0/1 or
    booleans), or non-negative Python integers (e.g. ``0b1011``).
    """
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        if a < 0 or b < 0:
            raise ValueError("integers must be non-negative")
        return (int(a) ^ int(b)).bit_count()
    bits_a, bits_b = _bits(a), _bits(b)
    if bits_a.shape != bits_b.shape:
        raise ValueError(f"hashes differ in length: {bits_a.size} and {bits_b.size} bits")
    return int(np.count_nonzero(bits_a != bits_b))


def hash_codes(hashes) -> np.ndarray:
    """Pack 64-bit hashes into a ``uint64`` array, one number per hash, for fast vectorised comparison.

    Raises :class:`htcourse.checks.BadValueError` for a hash of any other size (a ``hash_size=16`` hash has
    256 bits and would otherwise be cut into four wrong hashes).
    """
    rows = []
    for number, h in enumerate(hashes):
        bits = _bits(h)
        check_hash_bits(bits, HASH_BITS, f"number {number}")
        rows.append(bits)
    bits = np.array(rows, dtype=bool).reshape(-1, HASH_BITS)
    return np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)


def hashes_of(images, method: str = "phash") -> np.ndarray:
    """:func:`hash_codes` of the hash of each image (Pillow images or :class:`LabeledImage`)."""
    return hash_codes(hash_image(getattr(im, "image", im), method) for im in images)


def pairwise_distances(codes) -> np.ndarray:
    """Hamming distances between every pair ``i < j`` of packed hashes, in the order (0,1), (0,2), ... (1,2) ...

    Returns ``n * (n - 1) / 2`` distances as ``uint8``; vectorised row by row.
    """
    codes = np.asarray(codes, dtype=np.uint64)
    parts = [np.bitwise_count(codes[i] ^ codes[i + 1 :]).astype(np.uint8) for i in range(len(codes) - 1)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


def close_pairs(codes, threshold: int = THRESHOLD) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, of packed hashes within ``threshold`` bits of each other."""
    codes = np.asarray(codes, dtype=np.uint64)
    found = []
    for i in range(len(codes) - 1):
        js = np.flatnonzero(np.bitwise_count(codes[i] ^ codes[i + 1 :]) <= threshold) + i + 1
        found.extend((i, int(j)) for j in js)
    return np.array(found, dtype=int).reshape(-1, 2)


def false_matches_by_family(codes, families, threshold: int = THRESHOLD) -> pd.DataFrame:
    """False matches at ``threshold`` among unrelated images, by the families of the two images.

    ``codes`` are packed hashes (:func:`hash_codes`) of distinct, unrelated
    images and ``families`` their family names. One row per pair of
    families (``family_a <= family_b``) with ``pairs`` compared,
    ``false_matches`` and ``false_match_rate``, largest number of false
    matches first.
    """
    families = np.asarray(families)
    if len(families) != len(codes):
        raise ValueError("codes and families differ in length")
    sizes = pd.Series(families).value_counts()
    close = close_pairs(codes, threshold)
    found = pd.Series(
        [tuple(sorted(pair)) for pair in zip(families[close[:, 0]], families[close[:, 1]])], dtype=object
    ).value_counts()
    rows = []
    names = sorted(sizes.index)
    for i, a in enumerate(names):
        for b in names[i:]:
            pairs = sizes[a] * (sizes[a] - 1) // 2 if a == b else sizes[a] * sizes[b]
            false = int(found.get((a, b), 0))
            rows.append(
                {
                    "family_a": a,
                    "family_b": b,
                    "pairs": int(pairs),
                    "false_matches": false,
                    "false_match_rate": false / pairs if pairs else math.nan,
                }
            )
    table = pd.DataFrame(rows)
    return table.sort_values(["false_matches", "pairs"], ascending=False, kind="stable").reset_index(drop=True)


def distance_table(originals: dict, edits=EDITS, repeats: int = 5, seed: int = 0, methods=("phash",)) -> pd.DataFrame:
    """Edit every original ``repeats`` times with each edit and measure how far each hash moves.

    ``originals`` maps names to images. The random strengths come from a
    generator seeded with ``seed``. One row per (image, edit, repeat,
    method): columns ``image``, ``edit``, ``repeat``, ``setting``,
    ``method`` and ``distance`` (Hamming distance between the hash of the
    original and the hash of the edited copy).
    """
    if "caption" in edits:
        check_licences([CAPTION_ENTRY])
    rng = np.random.default_rng(seed)
    rows = []
    for name, original in originals.items():
        before = {m: hash_image(original, m) for m in methods}
        for edit in edits:
            for repeat in range(repeats):
                edited, setting = apply_edit(original, edit, rng)
                for m in methods:
                    rows.append(
                        {
                            "image": name,
                            "edit": edit,
                            "repeat": repeat,
                            "setting": setting,
                            "method": m,
                            "distance": hamming(before[m], hash_image(edited, m)),
                        }
                    )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# Error rates
# --------------------------------------------------------------------------


def match_rates(distances_same, distances_different, threshold: int) -> dict:
    """True- and false-match rates at ``threshold`` (a pair matches when ``distance <= threshold``).

    ``distances_same``: distances between listed images and edited copies
    of them; ``distances_different``: distances between unrelated images.
    Returns counts (``same_pairs``, ``true_matches``, ``different_pairs``,
    ``false_matches``) and rates (``true_match_rate``,
    ``false_match_rate``; ``nan`` when there are no pairs).
    """
    same = np.asarray(distances_same)
    different = np.asarray(distances_different)
    true_matches = int(np.count_nonzero(same <= threshold))
    false_matches = int(np.count_nonzero(different <= threshold))
    return {
        "threshold": threshold,
        "same_pairs": int(same.size),
        "true_matches": true_matches,
        "true_match_rate": true_matches / same.size if same.size else math.nan,
        "different_pairs": int(different.size),
        "false_matches": false_matches,
        "false_match_rate": false_matches / different.size if different.size else math.nan,
    }


def threshold_sweep(distances_same, distances_different, max_distance: int = HASH_BITS) -> pd.DataFrame:
    """:func:`match_rates` at every threshold from 0 to ``max_distance``, one row each (counted, not looped)."""
    same = np.bincount(np.asarray(distances_same, dtype=int), minlength=max_distance + 1)[: max_distance + 1]
    different = np.bincount(np.asarray(distances_different, dtype=int), minlength=max_distance + 1)[: max_distance + 1]
    table = pd.DataFrame({"threshold": np.arange(max_distance + 1)})
    table["same_pairs"] = same.sum()
    table["true_matches"] = np.cumsum(same)
    table["true_match_rate"] = table["true_matches"] / same.sum() if same.sum() else math.nan
    table["different_pairs"] = different.sum()
    table["false_matches"] = np.cumsum(different)
    table["false_match_rate"] = table["false_matches"] / different.sum() if different.sum() else math.nan
    return table


def distance_counts(distances_same, distances_different, max_distance: int = HASH_BITS) -> pd.DataFrame:
    """Pairs per Hamming distance for each kind of pair: the small table the distance chart draws.

    Columns ``distance``, ``pairs`` (``"edited copy"`` or ``"unrelated"``),
    ``count`` and ``share`` (of that kind's pairs). Distances with no pairs
    are left out.
    """
    rows = []
    for label, values in (("edited copy", distances_same), ("unrelated", distances_different)):
        counts = np.bincount(np.asarray(values, dtype=int), minlength=max_distance + 1)
        total = counts.sum()
        for distance in np.flatnonzero(counts):
            rows.append(
                {
                    "distance": int(distance),
                    "pairs": label,
                    "count": int(counts[distance]),
                    "share": counts[distance] / total,
                }
            )
    return pd.DataFrame(rows, columns=["distance", "pairs", "count", "share"])


def rate_upper_bound(events: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided upper confidence bound (Clopper–Pearson) for a rate after ``events`` in ``trials``.

    With no events it is ``1 - (1 - confidence) ** (1 / trials)``, close to
    ``3 / trials`` at 95% (the "rule of three").
    """
    from scipy.special import betaincinv

    if trials <= 0 or not 0 <= events <= trials:
        raise ValueError("need 0 <= events <= trials and trials > 0")
    if events == trials:
        return 1.0
    return float(betaincinv(events + 1, trials - events, confidence))


def expected_false_reports(rate: float, uploads: float, known_list_size: int = 1) -> float:
    """Expected number of innocent uploads that match at least one listed hash.

    Each upload is compared with every one of the ``known_list_size``
    listed hashes; ``rate`` is the chance that one comparison with an
    unrelated image is a false match. If comparisons are independent, an
    innocent upload matches at least one listed hash with probability
    ``p = 1 - (1 - rate) ** known_list_size`` (about
    ``rate * known_list_size`` when that is small), so the expected number
    of false reports is ``uploads * p``. Computed as
    ``-expm1(known_list_size * log1p(-rate))`` to stay accurate for tiny
    rates. Real false matches are not independent (simple images collide
    far more often than others), so this is a rough guide, not a forecast.
    """
    if not 0 <= rate <= 1:
        raise ValueError("rate must be between 0 and 1")
    if uploads < 0 or known_list_size < 0:
        raise ValueError("uploads and known_list_size must be non-negative")
    if rate == 1:
        return float(uploads) if known_list_size else 0.0
    return float(uploads * -math.expm1(known_list_size * math.log1p(-rate)))


# --------------------------------------------------------------------------
# Charts (the notebook adds each chart's description)
# --------------------------------------------------------------------------


def distance_chart(counts: pd.DataFrame, threshold: int = THRESHOLD):
    """Bars of the number of pairs at each Hamming distance (log scale), by kind of pair, threshold marked.

    pHash distances are even (each hash has 32 bits set), so the two kinds of
    pair are drawn side by side in each two-bit slot.

    ``counts`` is a :func:`distance_counts` table.
    """
    import altair as alt

    # Side by side at each (even) distance: edited copies to the left, unrelated pairs to the right;
    # on a log scale a bar needs an explicit base, here just under one pair.
    bars = (
        alt.Chart(counts)
        .transform_calculate(
            start="datum.distance + (datum.pairs === 'unrelated' ? 0 : -0.9)",
            end="datum.distance + (datum.pairs === 'unrelated' ? 0.9 : 0)",
            base="0.7",
        )
        .mark_bar()
        .encode(
            x=alt.X(
                "start:Q",
                title="Hamming distance between the two hashes (bits out of 64)",
                scale=alt.Scale(domain=[-1, HASH_BITS + 1], nice=False),
            ),
            x2="end:Q",
            y=alt.Y(
                "count:Q",
                title="Pairs (log scale)",
                scale=alt.Scale(type="log", domain=[0.7, float(counts["count"].max()) * 3]),
            ),
            y2="base:Q",
            color=alt.Color("pairs:N", title="Pairs", legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip("pairs:N", title="Pairs"),
                alt.Tooltip("distance:Q", title="Distance"),
                alt.Tooltip("count:Q", title="Pairs at this distance", format=","),
                alt.Tooltip("share:Q", title="Share of pairs of this kind", format=".3%"),
            ],
        )
    )
    # The rule sits in the gap after the last matching slot: slots are [d - 0.9, d + 0.9] for even d.
    marker = pd.DataFrame({"x": [(threshold // 2) * 2 + 1], "text": [f"match: distance ≤ {threshold}"]})
    rule = alt.Chart(marker).mark_rule(strokeDash=[4, 3], color="black").encode(x="x:Q")
    label = alt.Chart(marker).mark_text(align="left", dx=4, y=4, baseline="top").encode(x="x:Q", text="text:N")
    return alt.layer(bars, rule, label).properties(width=560, height=260)


def false_match_chart(sweep: pd.DataFrame, threshold: int = THRESHOLD, max_threshold: int = 24):
    """Two panels by threshold: the share of edited copies matched, and false matches per million unrelated pairs.

    ``sweep`` is a :func:`threshold_sweep` table; thresholds above
    ``max_threshold`` are left out. The lower panel uses a log scale.
    """
    import altair as alt

    table = sweep.loc[
        sweep["threshold"] <= max_threshold, ["threshold", "true_match_rate", "false_matches", "false_match_rate"]
    ].copy()
    table["false_per_million"] = table["false_match_rate"] * 1e6
    tooltip = [
        alt.Tooltip("threshold:Q", title="Threshold"),
        alt.Tooltip("true_match_rate:Q", title="Edited copies matched", format=".0%"),
        alt.Tooltip("false_matches:Q", title="False matches", format=","),
        alt.Tooltip("false_per_million:Q", title="Per million unrelated pairs", format=",.2f"),
    ]
    x = alt.X("threshold:Q", title="Match threshold (bits out of 64)", scale=alt.Scale(domain=[0, max_threshold]))
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [threshold]}))
        .mark_rule(strokeDash=[4, 3], color="black")
        .encode(x="threshold:Q")
    )
    true_panel = (
        alt.Chart(table)
        .mark_line(point=True, color="#0072B2")
        .encode(
            x=x,
            y=alt.Y(
                "true_match_rate:Q",
                title="Edited copies matched",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=tooltip,
        )
    )
    false_panel = (
        alt.Chart(table[table["false_matches"] > 0])
        .mark_line(point=True, color="#D55E00")
        .encode(
            x=x,
            y=alt.Y("false_per_million:Q", title="False matches per million pairs", scale=alt.Scale(type="log")),
            tooltip=tooltip,
        )
    )
    return alt.vconcat(
        alt.layer(true_panel, rule).properties(width=560, height=150),
        alt.layer(false_panel, rule).properties(width=560, height=150),
    )
