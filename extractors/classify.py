"""What is this page?  An ACORD 25, its ACORD 101 continuation, a fax cover, or other."""

from __future__ import annotations

from extractors.layout import PageLayout

# Labels only an ACORD 25 prints; a page showing several of them is one, even when OCR
# mangled its title.
ACORD25_LABELS = (
    "TITLE", "PRODUCER", "INSURED", "COVERAGES", "H_POLNUM", "H_LIMITS", "GL", "AUTO",
    "WC", "L_EACH_OCCURRENCE", "L_GENERAL_AGGREGATE", "DESCRIPTION", "CERT_HOLDER",
    "CANCELLATION", "INSURER_A", "NAIC",
)
ACORD101_LABELS = ("REMARKS_TITLE", "FORM_ACORD101", "REMARKS_SCHEDULE_TO")


def classify(layout: PageLayout) -> str:
    present = {lid for lid in ACORD25_LABELS if layout.all(lid)}
    remarks = {lid for lid in ACORD101_LABELS if layout.all(lid)}
    # The 101 names the ACORD 25's title in its "FORM TITLE:" line, so look for it first.
    only25 = present - {"TITLE", "GL", "AUTO", "WC", "INSURED", "NAIC", "H_POLNUM"}
    if remarks and len(only25) < 3:
        return "acord101"
    # The title and the form's footer ("ACORD 25 (2016/03)") together are one even when a
    # bad fax left few other labels legible: read it for what can be read, not drop it.
    if len(present) >= 6 or ("TITLE" in present and layout.all("FORM_ACORD25")
                             and len(present) >= 3):
        return "acord25"
    if layout.all("FAX_COVER") or (layout.all("FAX") and layout.all("FAX_PAGES")):
        return "cover"
    return "other"
