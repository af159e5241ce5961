"""Each pipeline stage alone, on small inputs made here with known truth.

Real parts only: PDFs written by reportlab (or the certificate generator) and rendered by
poppler, real tesseract, real pdfium.  The truth comes from how an input was made: where
reportlab drew a word, the angle a page was turned by, the generator's truth for check boxes.
Fixtures are listed in tests/resources/README.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import random
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.lib.pagesizes import letter
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from extractors import normalize as nz
from fixtures.conditions import apply_condition
from fixtures.generate import make_certificate
from pipeline import boxes as bx
from pipeline import poppler, tesseract, textlayer
from pipeline import preprocess as pp
from pipeline import rules as rl
from pipeline.errors import InputError, MissingDependencyError
from pipeline.load import RULES_DPI, open_document
from pipeline.reread import reread
from pipeline.sniff import JPEG, PDF, PNG, TIFF, sha256_file, sniff_file
from pipeline.types import PAGE_DPI, PageContent, Reread, Rule

PX = PAGE_DPI / 72.0  # PDF points -> 300-dpi pixels

# Generated certificates used here (seeds 20100-20149; see tests/resources/README).
SEED_PAGE = 20100  # "acord" layout: rules, skew, photo, lighting, orientation
SEED_BOXES = 20111  # random layout whose truth has GL claims-made, per policy, any auto
SEED_BOXES_150 = 20118  # its boxes marked with an X or a square, blurred full at 150 dpi
SEED_PAGES = 20112  # the 3-page (cover, ACORD 25, ACORD 101) certificate


# ------------------------------------------------------------------------------ helpers


def pdf_bytes(draw, *, rotation: int = 0, encrypt=None, pages: int = 1) -> bytes:
    """A letter-size PDF written by reportlab; ``draw(canvas, page_index)`` fills each page."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=letter, invariant=1, encrypt=encrypt)
    for i in range(pages):
        if rotation:
            c.setPageRotation(rotation)
        draw(c, i)
        c.showPage()
    c.save()
    return buf.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def image_bytes(fmt: str, *, size=(200, 100), dpi=(200, 200)) -> bytes:
    img = Image.new("L", size, 255)
    img.paste(0, (20, 20, 80, 60))
    buf = io.BytesIO()
    img.save(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


def words_of(path: Path, number: int = 1):
    doc = pdfium.PdfDocument(str(path))
    try:
        page = doc[number - 1]
        return textlayer.page_words(page, number), textlayer.page_size_px(page)
    finally:
        doc.close()


def ink_outside(img: np.ndarray, words, margin: int = 3) -> tuple[int, int]:
    """(dark pixels in all, dark pixels outside every word box grown by ``margin``)."""
    ink = img < 128
    inside = np.zeros_like(ink)
    for w in words:
        x0, y0, x1, y1 = w.bbox
        ys = slice(max(0, y0 - margin), max(0, y1 + margin))
        inside[ys, max(0, x0 - margin):max(0, x1 + margin)] = True
    return int(ink.sum()), int((ink & ~inside).sum())


@pytest.fixture(scope="module")
def cert_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated digital ACORD 25 (standard layout)."""
    d = tmp_path_factory.mktemp("cert")
    return write(d, "acord25.pdf", make_certificate(SEED_PAGE, layout="acord").pdf)


@pytest.fixture(scope="module")
def page300(cert_pdf: Path) -> np.ndarray:
    """That certificate rendered by poppler at 300 dpi (gray, ink dark)."""
    return poppler.render_page(cert_pdf, 1, dpi=PAGE_DPI)


@pytest.fixture(scope="module")
def cert_words(cert_pdf: Path):
    """Its text-layer words: where every printed word is, in the same 300-dpi pixels."""
    words, _ = words_of(cert_pdf)
    return words


# -------------------------------------------------------------------------------- sniff


@pytest.mark.parametrize(
    ("make", "name", "media"),
    [
        (lambda: pdf_bytes(lambda c, i: c.drawString(72, 700, "x")), "scan.tif", PDF),
        (lambda: b"\xef\xbb\xbf" + pdf_bytes(lambda c, i: None), "cert.pdf", PDF),  # BOM first
        (lambda: image_bytes("TIFF"), "cert.pdf", TIFF),
        (lambda: b"MM\x00*" + bytes(64), "fax.pdf", TIFF),  # big-endian TIFF
        (lambda: image_bytes("PNG"), "cert.jpg", PNG),
        (lambda: image_bytes("JPEG"), "cert.png", JPEG),
        (lambda: image_bytes("JPEG"), "noextension", JPEG),
    ],
    ids=["pdf-as-tif", "pdf-after-bom", "tiff-as-pdf", "tiff-big-endian", "png-as-jpg",
         "jpeg-as-png", "jpeg-no-extension"],
)
def test_sniff_by_magic_bytes_not_by_name(tmp_path, make, name, media):
    assert sniff_file(write(tmp_path, name, make())) == media


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # what a .docx is
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", ("empty",)),
        (b"Dear vendor,\nplease send your certificate of insurance.\n", ("plain text",)),
        (b"  <!DOCTYPE html>\n<html><body>Your download</body></html>", ("HTML",)),
        (b"<HTML><HEAD><TITLE>404</TITLE></HEAD></HTML>", ("HTML",)),
        (_zip_bytes(), ("ZIP", "DOCX")),
        (b"GIF89a" + bytes(32), ("GIF",)),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(32), ("Microsoft Office",)),
        (bytes(range(128, 256)) * 4, ("unrecognized",)),
    ],
    ids=["empty", "text", "html", "html-upper", "zip-docx", "gif", "ole", "binary"],
)
def test_sniff_names_what_a_bad_file_is(tmp_path, data, words):
    with pytest.raises(InputError) as info:
        sniff_file(write(tmp_path, "certificate.pdf", data))
    for w in words:
        assert w in info.value.message, info.value.message
    assert info.value.stage == "sniff"


def test_sha256_is_of_the_bytes(tmp_path):
    data = random.Random(1).randbytes(3 * (1 << 20) + 17)  # spans several read chunks
    p = write(tmp_path, "big.pdf", data)
    assert sha256_file(p) == hashlib.sha256(data).hexdigest()
    q = write(tmp_path, "other-name.tif", data)
    assert sha256_file(q) == sha256_file(p)  # the name plays no part
    flipped = bytearray(data)
    flipped[-1] ^= 1
    assert sha256_file(write(tmp_path, "flip.pdf", bytes(flipped))) != sha256_file(p)


# ---------------------------------------------------------------------------- textlayer

TITLE = "CERTIFICATE OF LIABILITY INSURANCE"
LINE2 = "Policy GL-7731024-02 effective 01/01/2026"


def _expected_boxes(text: str, x: float, font: str, size: float) -> list[tuple[str, float, float]]:
    """(word, left px, right px) of each word of ``text`` drawn at x points."""
    out, pos = [], x
    for word in text.split(" "):
        w = stringWidth(word, font, size)
        out.append((word, pos * PX, (pos + w) * PX))
        pos += w + stringWidth(" ", font, size)
    return out


def test_text_layer_words_at_known_positions(tmp_path):
    def draw(c, _):
        c.setFont("Helvetica", 12)
        c.drawString(72, 692, TITLE)
        c.setFont("Courier", 10)
        c.drawString(300, 392, LINE2)

    words, size = words_of(write(tmp_path, "known.pdf", pdf_bytes(draw)))
    assert size == (2550, 3300)
    assert [w.text for w in words] == TITLE.split() + LINE2.split()
    expected = (_expected_boxes(TITLE, 72, "Helvetica", 12)
                + _expected_boxes(LINE2, 300, "Courier", 10))
    baselines = [(792 - 692) * PX] * 4 + [(792 - 392) * PX] * 4
    for w, (text, left, right), base in zip(words, expected, baselines, strict=True):
        assert w.text == text
        assert abs(w.x0 - left) <= 4 and abs(w.x1 - right) <= 4, (w, left, right)
        # The box spans the glyphs: cap height above the baseline, descent below.
        assert w.y0 < base - 25 and base < w.y1 < base + 20, (w, base)
        assert w.conf == 1.0 and w.page == 1


def _sideways(c, _):
    """Text along the unrotated page: on a page with /Rotate it shows sideways or inverted.
    (reportlab gives a /Rotate 90 or 270 page a landscape MediaBox, 792 x 612 points.)"""
    c.setFont("Helvetica", 12)
    c.drawString(72, 500, TITLE)
    c.drawString(300, 200, LINE2)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_page_word_boxes_land_on_the_rendered_ink(tmp_path, rotation):
    """A page with /Rotate: word boxes must be in the displayed (rotated) page's pixels,
    where poppler draws the words."""
    path = write(tmp_path, f"rot{rotation}.pdf", pdf_bytes(_sideways, rotation=rotation))
    words, _ = words_of(path)
    img = poppler.render_page(path, 1, dpi=PAGE_DPI)
    # Every character is read (sideways text may come as words or as single letters).
    assert "".join(w.text for w in words) == "".join((TITLE + LINE2).split())
    for w in words:
        x0, y0, x1, y1 = w.bbox
        assert (img[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] < 128).any(), w
    total, outside = ink_outside(img, words)
    assert total > 10_000
    assert outside == 0, f"{outside} of {total} dark pixels lie outside every word box"


@pytest.mark.parametrize("rotation", [0, 90, 270])
def test_rotated_page_size_is_the_displayed_size(tmp_path, rotation):
    path = write(tmp_path, f"size{rotation}.pdf", pdf_bytes(_sideways, rotation=rotation))
    _, size = words_of(path)
    img = poppler.render_page(path, 1, dpi=PAGE_DPI)
    assert img.shape == (3300, 2550)  # portrait as displayed, whatever the MediaBox
    assert size == (img.shape[1], img.shape[0]), "PageContent width/height must match the words"


@pytest.mark.parametrize("rotation", [90, 270])
def test_upright_text_on_a_rotated_page_reads_as_words(tmp_path, rotation):
    """A landscape page turned portrait by /Rotate, its content drawn so it displays upright
    (what a scanner or print driver writes): the same words, at the same places, as the
    plain portrait page."""

    def draw(c, _):
        # Map portrait drawing coordinates onto the landscape page so /Rotate shows them
        # upright.
        if rotation == 90:
            c.transform(0, 1, -1, 0, 792, 0)
        else:
            c.transform(0, -1, 1, 0, 0, 612)
        c.setFont("Helvetica", 12)
        c.drawString(72, 692, TITLE)
        c.drawString(300, 392, LINE2)

    def plain(c, _):
        c.setFont("Helvetica", 12)
        c.drawString(72, 692, TITLE)
        c.drawString(300, 392, LINE2)

    path = write(tmp_path, f"up{rotation}.pdf", pdf_bytes(draw, rotation=rotation))
    img = poppler.render_page(path, 1, dpi=PAGE_DPI)
    ref, ref_size = words_of(write(tmp_path, "plain.pdf", pdf_bytes(plain)))
    ref_img = poppler.render_page(tmp_path / "plain.pdf", 1, dpi=PAGE_DPI)
    # The two PDFs really display the same page.
    assert img.shape == ref_img.shape and np.mean(np.abs(img.astype(int) - ref_img)) < 1.0
    words, size = words_of(path)
    assert [w.text for w in words] == [w.text for w in ref]
    for w, r in zip(words, ref, strict=True):
        assert max(abs(a - b) for a, b in zip(w.bbox, r.bbox, strict=True)) <= 3, (w, r)
    assert size == ref_size


def test_a_page_with_few_characters_has_no_text_layer(tmp_path):
    def stamp(text):
        return lambda c, _: (c.setFont("Helvetica", 9), c.drawString(72, 40, text))

    short = "Scanned by RICOH IM C3000 page 1 of 1"  # a scanner's stamp: 29 non-space chars
    assert sum(not ch.isspace() for ch in short) < textlayer.MIN_TEXT_CHARS
    words, _ = words_of(write(tmp_path, "stamp.pdf", pdf_bytes(stamp(short))))
    assert words is None
    long = "x" * textlayer.MIN_TEXT_CHARS  # the boundary: exactly enough
    words, _ = words_of(write(tmp_path, "enough.pdf", pdf_bytes(stamp(long))))
    assert words is not None and [w.text for w in words] == [long]


@pytest.mark.parametrize("mode", [3, 0])
def test_invisible_text_is_not_a_text_layer(tmp_path, mode):
    """An OCR layer laid invisibly over a scan (render mode 3) is someone else's OCR: the
    page is read as a scan.  The same text drawn visibly (mode 0) is a text layer."""

    def draw(c, _):
        t = c.beginText(72, 692)
        t.setFont("Helvetica", 10)
        t.setTextRenderMode(mode)
        for line in (TITLE, LINE2, "INSURED Acme Roofing LLC 100 Main St Springfield IL"):
            t.textLine(line)
        c.drawText(t)

    words, _ = words_of(write(tmp_path, f"mode{mode}.pdf", pdf_bytes(draw)))
    if mode == 3:
        assert words is None
    else:
        assert words is not None and words[0].text == "CERTIFICATE"


# --------------------------------------------------------------------------------- load


def test_multipage_tiff_gives_one_page_per_frame_with_dpi(tmp_path):
    frames = []
    for i in range(3):
        img = Image.new("L", (850, 1100), 255)
        img.paste(0, (100 + 50 * i, 100, 300 + 50 * i, 150))  # each frame its own mark
        frames.append(img.convert("1"))
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", compression="group4", dpi=(100, 100), save_all=True,
                   append_images=frames[1:])
    path = write(tmp_path, "fax.tif", buf.getvalue())
    opened = open_document(path, sniff_file(path), max_pages=50, timeout=60)
    pages = list(opened.pages)
    assert opened.total_pages == 3 and not opened.capped
    assert [p.number for p in pages] == [1, 2, 3]
    for i, p in enumerate(pages):
        assert p.error is None and p.words is None
        assert p.image.shape == (1100, 850) and p.image.dtype == np.uint8
        assert p.dpi == (100.0, 100.0)
        cols = np.nonzero(p.image[125] < 128)[0]
        assert cols.min() == 100 + 50 * i  # the frame's own content, in order


def test_pdf_without_text_layer_is_rendered_at_300_dpi(tmp_path):
    img = Image.new("L", (1700, 2200), 255)  # a letter page scanned at 200 dpi
    img.paste(0, (200, 300, 600, 400))
    buf = io.BytesIO()
    img.save(buf, format="PDF", resolution=200.0)
    path = write(tmp_path, "scan.pdf", buf.getvalue())
    opened = open_document(path, PDF, max_pages=50, timeout=60)
    (page,) = list(opened.pages)
    assert page.words is None and page.error is None
    assert page.image.shape == (3300, 2550) and page.dpi == (PAGE_DPI, PAGE_DPI)
    # The black block drawn at 200 dpi lies 1.5x further out at 300 dpi.
    assert page.image[450:600, 300:900].mean() < 30
    assert page.image[700:900, 300:900].mean() > 240


def test_digital_pdf_gives_words_and_a_render_for_rules(cert_pdf):
    opened = open_document(cert_pdf, PDF, max_pages=50, timeout=60)
    (page,) = list(opened.pages)
    assert page.image is None and page.size == (2550, 3300)
    assert any(w.text == "CERTIFICATE" for w in page.words)
    rh, rw = page.render.shape  # a low-resolution render to find the rules on
    assert abs(rh - 11 * RULES_DPI) <= 1 and abs(rw - 8.5 * RULES_DPI) <= 1
    assert page.render_dpi == RULES_DPI


def test_password_protected_pdf_is_an_input_error(tmp_path):
    data = pdf_bytes(lambda c, _: c.drawString(72, 700, TITLE * 2),
                     encrypt=StandardEncryption("user-secret", "owner-secret"))
    path = write(tmp_path, "locked.pdf", data)
    with pytest.raises(InputError) as info:
        open_document(path, sniff_file(path), max_pages=50, timeout=60)
    assert "password-protected" in info.value.message


def test_pdf_without_pages_is_an_input_error_saying_so(tmp_path):
    empty = pdfium.PdfDocument.new()  # a well-formed PDF whose page tree is empty
    buf = io.BytesIO()
    empty.save(buf)
    empty.close()
    nopages = write(tmp_path, "nopages.pdf", buf.getvalue())
    locked = write(tmp_path, "locked.pdf", pdf_bytes(
        lambda c, _: c.drawString(72, 700, TITLE), encrypt=StandardEncryption("u", "o")))
    # As an inbox holds them: a password-protected PDF just before it.
    with pytest.raises(InputError, match="password-protected"):
        open_document(locked, PDF, max_pages=50, timeout=60)
    with pytest.raises(InputError) as info:
        open_document(nopages, PDF, max_pages=50, timeout=60)
    assert "no pages" in info.value.message, info.value.message
    assert "password" not in info.value.message


@pytest.mark.parametrize("share", [0.03, 0.33, 0.66, 0.98])
def test_truncated_pdf_never_escapes_as_an_exception(tmp_path, share):
    data = make_certificate(SEED_PAGES, layout="acord", multipage=True).pdf
    path = write(tmp_path, "cut.pdf", data[: max(300, int(len(data) * share))])
    try:
        opened = open_document(path, sniff_file(path), max_pages=50, timeout=60)
        pages = list(opened.pages)
    except InputError as exc:
        assert "damaged or truncated" in exc.message, exc.message
        return
    # Opened after all (pdfium repairs some): every page is read or carries its error.
    assert pages, "an opened PDF yields its pages"
    for p in pages:
        assert p.error or p.words is not None or p.image is not None


def test_corrupt_image_is_an_input_error(tmp_path):
    data = image_bytes("JPEG")[:20] + random.Random(3).randbytes(4000)
    path = write(tmp_path, "photo.jpg", data)
    assert sniff_file(path) == JPEG
    with pytest.raises(InputError) as info:
        opened = open_document(path, JPEG, max_pages=50, timeout=60)
        list(opened.pages)
    assert "damaged or truncated" in info.value.message


def test_max_pages_caps_what_is_read(tmp_path):
    path = write(tmp_path, "three.pdf", make_certificate(SEED_PAGES, multipage=True).pdf)
    opened = open_document(path, PDF, max_pages=2, timeout=60)
    assert opened.total_pages == 3 and opened.capped
    assert [p.number for p in opened.pages] == [1, 2]
    frames = [Image.new("L", (100, 100), 255) for _ in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:])
    tif = write(tmp_path, "four.tif", buf.getvalue())
    opened = open_document(tif, TIFF, max_pages=1, timeout=60)
    assert opened.total_pages == 4 and opened.capped
    assert [p.number for p in opened.pages] == [1]


# --------------------------------------------------------------------------- preprocess


@pytest.mark.parametrize("angle", [3.0, -4.0, 2.35, -5.0])
def test_estimate_skew_recovers_a_known_rotation(page300, angle):
    turned = pp.rotate(page300, -angle)  # turned clockwise by angle: needs +angle back
    assert abs(pp.estimate_skew(turned) - angle) <= 0.1
    assert abs(pp.estimate_skew(page300)) <= 0.1


def _long_rules(gray: np.ndarray, horizontal: bool, min_len: int) -> list[int]:
    rules = rl.find_rules(gray, PAGE_DPI)
    if horizontal:
        return sorted(r.y0 for r in rules if r.horizontal and r.x1 - r.x0 >= min_len)
    return sorted(r.x0 for r in rules if not r.horizontal and r.y1 - r.y0 >= min_len)


def test_photo_page_is_found_and_warped_upright(page300):
    # The page, smaller, lit a little gray, on a dark desk, seen at a slant (a phone photo).
    small = cv2.resize(page300, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    sh, sw = small.shape
    fw, fh = 2400, 3000
    ox, oy = (fw - sw) / 2, (fh - sh) / 2
    src = np.float32([(0, 0), (sw, 0), (sw, sh), (0, sh)])
    corners = np.float32([(ox + 60, oy + 20), (ox + sw - 30, oy + 70),
                          (ox + sw + 40, oy + sh - 10), (ox - 20, oy + sh + 30)])
    paper = small.astype(np.float32) * 0.85 + 20
    photo = cv2.warpPerspective(paper, cv2.getPerspectiveTransform(src, corners), (fw, fh),
                                borderMode=cv2.BORDER_CONSTANT, borderValue=60)
    photo = np.clip(photo, 0, 255).astype(np.uint8)

    quad = pp.find_page_quad(photo)
    assert quad is not None
    assert np.abs(quad - corners).max() < 20, (quad, corners)  # tl, tr, br, bl
    warped = pp.warp_page(photo, quad)
    assert warped.shape == (3300, 2550)  # letter at 300 dpi
    assert abs(pp.estimate_skew(warped)) <= 0.2
    # The form's long rules are back where the flat page has them.
    for horizontal, min_len in ((True, 1500), (False, 500)):
        want = _long_rules(page300, horizontal, min_len)
        got = _long_rules(warped, horizontal, min_len)
        assert len(want) >= 5
        for pos in want:
            assert min(abs(pos - g) for g in got) <= 15, (horizontal, pos, got)


def test_a_scan_is_not_taken_for_a_photo(page300):
    assert pp.find_page_quad(page300) is None


def test_to_page_dpi_rescales_to_300(page300):
    at200 = cv2.resize(page300, (1700, 2200), interpolation=cv2.INTER_AREA)
    out, known = pp.to_page_dpi(at200, (200.0, 200.0))
    assert out.shape == (3300, 2550) and known
    # The content is where it is on the 300-dpi page.
    assert np.mean(np.abs(out.astype(int) - page300.astype(int))) < 12
    guessed, known = pp.to_page_dpi(at200, None)  # no dpi in the file: from a letter width
    assert guessed.shape == (3300, 2550) and not known
    same, known = pp.to_page_dpi(page300, (300.0, 300.0))
    assert same is page300 and known


def test_flatten_light_makes_the_background_uniform(page300):
    h, w = page300.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1.0 - 0.45 * xx / w - 0.15 * yy / h  # a lamp on the left, bright at the top
    lit = (page300.astype(np.float32) * light).astype(np.uint8)
    paper = page300 > 200

    def paper_levels(img):
        return [float(np.median(img[:, a:b][paper[:, a:b]]))
                for a, b in ((0, w // 5), (2 * w // 5, 3 * w // 5), (4 * w // 5, w))]

    before = paper_levels(lit)
    assert max(before) - min(before) > 60  # the test page really is unevenly lit
    flat = pp.flatten_light(lit)
    after = paper_levels(flat)
    assert max(after) - min(after) <= 8 and min(after) >= 240
    ink = page300 < 80
    assert np.median(flat[ink]) < 60  # text stays dark, in the shadow too
    assert np.median(flat[:, 4 * w // 5:][ink[:, 4 * w // 5:]]) < 60


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_orient_turns_a_page_upright(page300, quarter_turns):
    turned = np.ascontiguousarray(np.rot90(page300, quarter_turns))  # counter-clockwise
    upright, degrees = pp.orient(turned, timeout=60)
    assert degrees == 90 * quarter_turns  # turned clockwise by as much
    assert np.array_equal(upright, page300)


# -------------------------------------------------------------------------------- rules


def test_find_rules_finds_the_forms_long_rules(page300, cert_pdf):
    rules = rl.find_rules(page300, PAGE_DPI)
    horiz = [r for r in rules if r.horizontal and r.x1 - r.x0 >= 1800]
    vert = [r for r in rules if not r.horizontal and r.y1 - r.y0 >= 400]
    assert len(horiz) >= 10 and len(vert) >= 5, (len(horiz), len(vert))
    for r in horiz:  # each found rule lies on a drawn line
        band = page300[max(0, r.y0 - 3):r.y0 + 4, r.x0 + 5:r.x1 - 5]
        assert (band.min(axis=0) < 128).mean() > 0.97, r
    for r in vert:
        band = page300[r.y0 + 5:r.y1 - 5, max(0, r.x0 - 3):r.x0 + 4]
        assert (band.min(axis=1) < 128).mean() > 0.97, r
    # Found on the 100-dpi render of a digital page, they come out in 300-dpi pixels.
    doc = pdfium.PdfDocument(str(cert_pdf))
    render = doc[0].render(scale=RULES_DPI / 72, grayscale=True).to_numpy().squeeze()
    doc.close()
    low = rl.find_rules(render, RULES_DPI, out_dpi=PAGE_DPI)
    for r in horiz:
        assert any(m.horizontal and abs(m.y0 - r.y0) <= 5 and abs(m.x0 - r.x0) <= 8 for m in low)


def test_remove_rules_paints_rules_white_and_keeps_the_text(page300, cert_words):
    long_h = [r for r in rl.find_rules(page300, PAGE_DPI)
              if r.horizontal and r.x1 - r.x0 >= 1800]
    cleaned, found = rl.remove_rules(page300, PAGE_DPI)
    assert cleaned.shape == page300.shape
    for r in long_h:
        band = cleaned[max(0, r.y0 - 3):r.y0 + 4, r.x0 + 5:r.x1 - 5]
        assert (band < 128).mean() < 0.01, r  # the line is gone
        assert any(f.horizontal and abs(f.y0 - r.y0) <= 3 for f in found)  # and reported

    def ink_in_words(img):
        return sum(int((img[w.y0:w.y1, w.x0:w.x1] < 128).sum()) for w in cert_words)

    assert ink_in_words(cleaned) >= 0.9 * ink_in_words(page300)


def test_merge_collinear_joins_a_dashed_line():
    # A fax breaks a rule into dashes 40 px long, 20 px apart.
    dashes = [Rule(x, 500, x + 40, 500) for x in range(100, 1000, 60)]
    vdash = [Rule(700, y, 700, y + 30) for y in range(50, 450, 45)]
    other = Rule(100, 560, 1000, 560)  # a parallel rule 60 px lower stays its own
    merged = rl.merge_collinear(dashes + vdash + [other], gap=45)
    horiz = sorted((r for r in merged if r.horizontal), key=lambda r: r.y0)
    vert = [r for r in merged if not r.horizontal]
    assert [(r.x0, r.y0, r.x1) for r in horiz] == [(100, 500, 980), (100, 560, 1000)]
    assert [(r.x0, r.y0, r.y1) for r in vert] == [(700, 50, 440)]
    # Gaps wider than allowed keep the pieces apart.
    assert len(rl.merge_collinear(dashes, gap=10)) == len(dashes)


def test_merge_collinear_joins_dashes_that_wobble_a_pixel():
    """The pieces of a scanned or faxed rule do not share one y: a ragged edge moves each
    piece's center by a pixel.  Within ``tol`` they are still one line."""
    dashes = [Rule(x, 500 + i % 2, x + 40, 500 + i % 2)
              for i, x in enumerate(range(100, 1000, 60))]
    vdash = [Rule(700 + i % 2, y, 700 + i % 2, y + 30) for i, y in enumerate(range(50, 450, 45))]
    merged = rl.merge_collinear(dashes + vdash, gap=45)
    horiz = [r for r in merged if r.horizontal]
    vert = [r for r in merged if not r.horizontal]
    assert [(r.x0, r.x1) for r in horiz] == [(100, 980)], horiz
    assert [(r.y0, r.y1) for r in vert] == [(50, 440)], vert


def test_find_rules_on_a_dashed_line_gives_one_rule():
    img = np.full((600, 2400), 255, np.uint8)
    starts = range(200, 2000, 110)  # 80 px dashes, 30 px gaps
    for x in starts:
        cv2.line(img, (x, 300), (x + 80, 300), 0, 3)
    rules = rl.find_rules(img, PAGE_DPI)
    assert len(rules) == 1 and rules[0].horizontal
    assert abs(rules[0].x0 - 200) <= 5 and abs(rules[0].x1 - (starts[-1] + 80)) <= 5
    assert abs(rules[0].y0 - 300) <= 1


# -------------------------------------------------------------------------------- boxes


@pytest.mark.parametrize(("condition", "seed"),
                         [("scan300", SEED_BOXES), ("scan150", SEED_BOXES_150)])
def test_find_boxes_measures_checked_and_empty_boxes(tmp_path, condition, seed):
    # At 150 dpi the blur fills a box's X and closes the paper around a square mark: such a
    # box is full to its outline, and still a box (its sides whole and straight); seed
    # 20118's five checked boxes were all missed when a full box was taken for a blob.
    cert = make_certificate(seed, layout="random")
    pols = {p["line"]: p for p in cert.truth["policies"]}
    gl, auto = pols["general_liability"], pols["automobile_liability"]
    # The label printed right of each box, and whether the truth has it checked.
    want = {
        "CLAIMS-MADE": gl["occurrence_basis"] == "claims_made",
        "OCCUR": gl["occurrence_basis"] == "occurrence",
        "POLICY": gl["aggregate_applies_per"] == "policy",
        "PRO-JECT": gl["aggregate_applies_per"] == "project",
        "LOC": gl["aggregate_applies_per"] == "location",
        "ANY": "any_auto" in auto["autos"],
        "OWNED": "owned_autos_only" in auto["autos"],
        "SCHEDULED": "scheduled_autos" in auto["autos"],
        "HIRED": "hired_autos_only" in auto["autos"],
        "NON-OWNED": "non_owned_autos_only" in auto["autos"],
    }
    assert any(want.values()) and not all(want.values())
    data, _ = apply_condition(cert.pdf, condition, random.Random(seed))
    path = write(tmp_path, "scan.pdf", data)
    (src,) = list(open_document(path, PDF, max_pages=1, timeout=60).pages)
    # The cleaning scanned_page does before looking for boxes.
    gray, _ = pp.to_page_dpi(src.image, src.dpi)
    gray = pp.stretch_contrast(pp.flatten_light(gray))
    skew = pp.estimate_skew(gray)
    gray = pp.rotate(gray, skew)
    cleaned, _ = rl.remove_rules(gray, PAGE_DPI)
    found = bx.find_boxes(cleaned, PAGE_DPI)

    words, _ = words_of(write(tmp_path, "digital.pdf", cert.pdf))
    seen: dict[str, float] = {}
    for b in sorted(found, key=lambda b: b.bbox[1]):  # top first: the GL section's OCCUR
        x0, y0, x1, y1 = b.bbox
        right = sorted((w for w in words if abs(w.cy - (y0 + y1) / 2) < 25
                        and x1 - 10 <= w.x0 <= x1 + 40), key=lambda w: w.x0)
        if right and right[0].text in want:
            seen.setdefault(right[0].text, b.fill)
    assert set(seen) == set(want), f"boxes not found beside {set(want) - set(seen)}"
    for label, checked in want.items():
        if checked:
            assert seen[label] >= 0.2, (label, seen[label])
        else:
            assert seen[label] <= 0.06, (label, seen[label])


# ------------------------------------------------------------------------------- reread


def test_reread_finds_a_lone_letter_whole_page_ocr_missed(tmp_path):
    def draw(c, _):
        c.setFont("Helvetica", 9)
        c.drawString(200, 500, "B")  # an insurer letter alone in its narrow cell, no box

    path = write(tmp_path, "letter.pdf", pdf_bytes(draw))
    img = poppler.render_page(path, 1, dpi=PAGE_DPI)
    cell = (790, 1165, 900, 1240)  # around (200, 292) pt: the letter's cell
    ys, xs = np.nonzero(img < 128)
    assert cell[0] < xs.min() and xs.max() < cell[2] and cell[1] < ys.min() and ys.max() < cell[3]
    page = PageContent(number=1, width=img.shape[1], height=img.shape[0], words=[],
                       source="ocr", image=img)
    assert reread([page], [Reread(1, cell, "ABCDEF")], timeout=60) == 1
    inside = [w for w in page.words
              if cell[0] <= w.cx <= cell[2] and cell[1] <= w.cy <= cell[3]]
    assert [w.text for w in inside] == ["B"]
    w = inside[0]
    assert w.page == 1 and 0 < w.conf <= 1
    assert abs(w.x0 - xs.min()) <= 4 and abs(w.y1 - ys.max()) <= 4  # in page pixels


def test_a_wandering_one_pixel_rule_is_found_whole():
    # A fax's 1-px rule steps sideways every 20 px (noise before its 1-bit decision): no
    # single pixel column of it is as long as the line kernel.
    img = np.full((1200, 400), 255, np.uint8)
    for i, y in enumerate(range(100, 1100, 20)):
        x = 200 + (i % 2)
        img[y:y + 20, x] = 0
        img[300 + (i % 2), 50 + 6 * i:56 + 6 * i] = 0  # and a horizontal one
    _, rules = rl.remove_rules(img, PAGE_DPI)
    vert = [r for r in rules if not r.horizontal]
    horiz = [r for r in rules if r.horizontal]
    assert len(vert) == 1 and vert[0].y1 - vert[0].y0 > 900
    assert len(horiz) == 1 and horiz[0].x1 - horiz[0].x0 > 250


def test_a_fax_amount_cell_is_read_by_both_models_and_the_usual_amount_kept():
    # Five amount cells of a fax typed in a thin Times (tests/resources/README): the
    # standard model reads three of them as "", "000" and "0", the fast one all five; on the
    # thin Courier of fax_limits_cells.png (below) it is the other way round.
    img = cv2.imread(str(Path(__file__).parent / "resources" / "fax_times_amounts.png"),
                     cv2.IMREAD_GRAYSCALE)
    page = PageContent(number=1, width=img.shape[1], height=img.shape[0], words=[],
                       source="ocr", image=img, bilevel=True)
    edges = (0, 48, 97, 147, 196, 245)
    cells = [Reread(1, (0, y0, img.shape[1], y1), "0123456789$,.")
             for y0, y1 in itertools.pairwise(edges)]
    assert reread([page], cells, timeout=60) == 5
    got = [nz.parse_money(w.text)[0] for w in sorted(page.words, key=lambda w: w.y0)]
    assert got == [1000000, 1000000, 500000, 500000, 500000]


def test_a_fax_cells_are_read_with_the_standard_model():
    # The limits column of a fax whose thin Courier strokes broke at the 1-bit decision
    # (tests/resources/README says where it comes from): the system's fast model reads three
    # of its six amounts wrong ("1,000,909", "2,900,006", "1,000,009"); the standard model,
    # which a bilevel page's cells are read with (amounts by the fast one too, the usual
    # amount kept), reads all six.
    img = cv2.imread(str(Path(__file__).parent / "resources" / "fax_limits_cells.png"),
                     cv2.IMREAD_GRAYSCALE)
    assert tesseract.standard_model_dir() is not None
    page = PageContent(number=1, width=img.shape[1], height=img.shape[0], words=[],
                       source="ocr", image=img, bilevel=True)
    cells = [Reread(1, (15, y, 305, y + 45), "0123456789$,.") for y in range(5, 300, 55)]
    assert reread([page], cells, timeout=60) == 6
    got = [w.text for w in sorted(page.words, key=lambda w: w.y0)]
    assert got == ["1,000,000", "300,000", "10,000", "1,000,000", "2,000,000", "1,000,000"]


def test_a_missing_standard_model_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(tesseract, "standard_model_dir", lambda: None)
    img = np.full((60, 200), 255, np.uint8)
    with pytest.raises(MissingDependencyError, match="pip install"):
        tesseract.run_data(img, page=1, model=tesseract.STANDARD)
    assert tesseract.run_data(img, page=1, model=tesseract.FAST) == []


# ------------------------------------------------------------------------------ color


def test_colored_marks_drop_out_and_black_print_stays():
    from fixtures.conditions import HIGHLIGHT_YELLOW, PEN_BLUE, STAMP_RED

    paper = np.array([246, 243, 232], np.uint8)
    img = np.tile(paper, (120, 400, 1))
    img[40:80, 20:380] = 25  # a black typed value
    img[0:30, 0:100] = STAMP_RED  # stamp ink on paper
    img[50:70, 100:140] = (np.array(STAMP_RED) * 25 // 255)  # stamp over print: black
    img[90:110, 0:200] = HIGHLIGHT_YELLOW
    img[90:110, 250:300] = PEN_BLUE
    # Mid-gray print (a glyph's soft edge) under the stamp and under the pen: print times ink.
    img[30:34, 0:100] = (np.array(STAMP_RED) * 128 // 255)
    img[110:114, 250:300] = (np.array(PEN_BLUE) * 128 // 255)
    gray = pp.drop_color(img)
    lum = pp.luminance(img)
    assert lum[10, 50] < 110 and gray[10, 50] >= 235  # the red stamp goes to paper
    assert gray[100, 100] >= 230  # the highlighter goes
    # Blue ink, dark even in blue (the brightest channel alone left it at 150), goes too.
    assert lum[100, 270] < 70 and gray[100, 270] >= 235
    assert gray[60, 50] < 40 and gray[60, 120] < 40  # black print stays, even under the stamp
    # Gray print under either ink comes out the gray it was printed (each ink measured on
    # the page: how much it darkens the brightest channel for its chroma).
    assert abs(int(gray[32, 50]) - 128) <= 20 and abs(int(gray[112, 270]) - 128) <= 20
    assert gray[5, 390] >= 250  # the cream sheet is white balanced: paper, no ink
    gray_page = np.tile(np.array([128, 128, 128], np.uint8), (10, 10, 1))
    assert np.array_equal(pp.drop_color(gray_page), pp.luminance(gray_page))
    # A cream sheet, its tint the only color: white balanced, nothing to drop.
    cream = np.tile(np.array([255, 230, 190], np.uint8), (40, 40, 1))
    assert pp.drop_color(cream).min() >= 250
    # Red ink is one ink on both sides of hue 0 (neither half alone is enough pixels).
    red = np.tile(paper, (100, 40, 1))
    red[0:6, :], red[6:12, :] = (200, 40, 45), (200, 45, 40)  # 240 pixels each
    assert pp.drop_color(red)[0:12].min() >= 235


def test_ballpoint_initials_over_a_line_of_type_leave_the_type_alone():
    """The generator's initials (a ballpoint's loops) across a typed line: the pen goes to
    paper, soft edges and all, and the line reads as it did without them."""
    from fixtures.conditions import PEN_BLUE, _initials_mask, _overlay

    page = np.full((260, 900), 255, np.uint8)
    cv2.putText(page, "EACH OCCURRENCE 1,000,000", (30, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.3,
                0, 3, cv2.LINE_AA)
    rgb = np.dstack([page] * 3).astype(np.float32) * np.float32([246, 243, 232]) / 255
    clean = rgb.astype(np.uint8)
    mask = _initials_mask(random.Random(7), 300)
    _overlay(rgb, mask, PEN_BLUE, 420, 60)
    marked = rgb.astype(np.uint8)
    gray, lum = pp.drop_color(marked), pp.luminance(marked)
    scrawl = np.zeros(page.shape, bool)
    scrawl[60:60 + mask.shape[0], 420:420 + mask.shape[1]] = mask > 0.05
    off_type = scrawl & (page > 250)  # the pen on paper, not over the type
    assert lum[off_type].min() < 90 and gray[off_type].min() >= 225
    assert tesseract.run_data(gray, page=1) and [w.text for w in tesseract.run_data(
        gray, page=1)] == [w.text for w in tesseract.run_data(pp.luminance(clean), page=1)]


def test_a_gray_scan_pdf_is_rendered_gray_and_a_color_one_in_color(tmp_path):
    from pipeline.load import open_document

    for mode, colored in (("L", False), ("RGB", True)):
        img = Image.new(mode, (850, 1100), "white")
        path = tmp_path / f"{mode}.pdf"
        img.save(path, format="PDF", resolution=100.0)
        (page,) = open_document(path, PDF, max_pages=2, timeout=60).pages
        assert page.image is not None and page.image.ndim == 2
        assert (page.color is not None) == colored
        if colored:
            assert page.color.shape == (*page.image.shape, 3)
