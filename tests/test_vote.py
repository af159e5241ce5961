"""Three readings of a fax put to a vote, field by field (pipeline/vote.py)."""

from pipeline.types import Extraction, FieldValue
from pipeline.vote import ALONE_FACTOR, UNANIMOUS_CONFIDENCE, vote

NAME = "producer.contact"
LIMIT = "policies.general_liability.limits.each_occurrence"


def _ex(**fields: tuple[object, float]) -> Extraction:
    paths = {"name": NAME, "limit": LIMIT, "flag": "policies.general_liability.additional_insured",
             "date": "policies.general_liability.effective_date"}
    return Extraction(fields={paths[k]: FieldValue(paths[k], v, c, 1, (0, 0, 10, 10))
                              for k, (v, c) in fields.items()})


def test_the_majority_value_replaces_the_bases_when_surer():
    base = _ex(name=("Steven Harns", 0.7))
    vote(base, [_ex(name=("Steven Harris", 0.96)), _ex(name=("Steven Harris", 0.9))])
    f = base.fields[NAME]
    assert f.value == "Steven Harris" and f.confidence == 0.96
    assert f.notes == ["read so by 2 of 3 readings"]


def test_a_field_only_the_witnesses_read_is_added_and_a_cell_read_again_stays():
    # The base's ADDL cell was read again alone ("Y" at 0.85); the witnesses' first reads
    # of the same cell found nothing readable (False at 0.3): no match for it.
    base = _ex(flag=(True, 0.85))
    vote(base, [_ex(flag=(False, 0.3), date=("2026-02-18", 0.7)),
                _ex(flag=(False, 0.3), date=("2026-02-18", 0.6))])
    assert base.fields["policies.general_liability.additional_insured"].value is True
    assert base.fields["policies.general_liability.effective_date"].value == "2026-02-18"


def test_unanimous_clean_values_are_as_sure_as_such_fields_proved():
    base = _ex(limit=(1000000, 0.7), name=("Ann Lee", 0.7), date=("2026-02-18", 0.4))
    base.fields[NAME].notes.append("looks misread: odd letter case")
    same = [_ex(limit=(1000000, 0.5), name=("Ann Lee", 0.8), date=("2026-02-18", 0.9))
            for _ in range(2)]
    vote(base, same)
    assert base.fields[LIMIT].confidence == UNANIMOUS_CONFIDENCE
    assert base.fields[NAME].confidence == 0.7  # a check found something odd
    assert base.fields["policies.general_liability.effective_date"].confidence == 0.4
    assert all(any(n == "readings agree (3 of 3)" for n in f.notes)
               for f in base.fields.values())


def test_unanimity_of_readings_one_of_which_doubted_is_not_enough():
    # A fax's 3,000,000 read 2,000,000 by all three readings, one of them at 0.23.
    base = _ex(limit=(2000000, 0.84))
    vote(base, [_ex(limit=(2000000, 0.23)), _ex(limit=(2000000, 0.7))])
    assert base.fields[LIMIT].confidence == 0.84


def test_a_value_every_other_reading_contradicts_is_less_sure():
    base = _ex(limit=(1000000, 0.84))
    vote(base, [_ex(limit=(3000000, 0.5)), _ex(limit=(3600000, 0.4))])
    assert base.fields[LIMIT].value == 1000000
    assert base.fields[LIMIT].confidence == round(0.84 * ALONE_FACTOR, 4)
    # Witnesses that read nothing there do not contradict it.
    lone = _ex(limit=(1000000, 0.84))
    vote(lone, [_ex(), _ex()])
    assert lone.fields[LIMIT].confidence == 0.84


def test_a_base_value_outvoted_by_less_sure_readings_is_less_sure():
    # The thickened reading took a box's thick outline for a mark (OCCUR at 1.0); the two
    # others read CLAIMS-MADE by the boxes' places (0.891).
    path = "policies.umbrella_liability.occurrence_basis"
    base = Extraction(fields={path: FieldValue(path, "occurrence", 1.0, 1, (0, 0, 1, 1))})
    w = [Extraction(fields={path: FieldValue(path, "claims_made", 0.891, 1, (0, 0, 1, 1))})
         for _ in range(2)]
    vote(base, w)
    assert base.fields[path].value == "occurrence"
    assert base.fields[path].confidence == ALONE_FACTOR
    assert base.fields[path].notes == ["2 of 3 readings gave 'claims_made'"]


def test_a_majority_of_another_thing_does_not_replace_the_base():
    # The witnesses counted the insurer rows from another one: not a misreading of ERIE.
    path = "insurers.A.name"
    base = Extraction(fields={path: FieldValue(path, "ERIE INSURANCE EXCHANGE", 0.8, 1,
                                               (0, 0, 1, 1))})
    w = [Extraction(fields={path: FieldValue(path, "OWNERS INSURANCE COMPANY", 0.9, 1,
                                             (0, 0, 1, 1))}) for _ in range(2)]
    vote(base, w)
    assert base.fields[path].value == "ERIE INSURANCE EXCHANGE"
    assert base.fields[path].confidence < 0.8


def test_a_mark_two_surer_readings_disagree_with_is_theirs():
    # A Y read at 0.06 where both other readings saw N surely: a mark has no variants,
    # so the text test that guards names does not stand in the way (seed 8181).
    flag = "policies.general_liability.additional_insured"
    def read(value, conf, raw):
        ex = _ex(flag=(value, conf))
        ex.fields[flag].raw = raw
        return ex
    base = read(True, 0.06, "¥:")
    vote(base, [read(False, 0.85, "N"), read(False, 0.93, "N")])
    assert base.fields[flag].value is False and base.fields[flag].confidence == 0.93
    assert base.fields[flag].notes == ["read so by 2 of 3 readings"]
    # Two empty cells (the witnesses' cells are not read again) do not outvote a Y.
    base = read(True, 0.6, "Y")
    vote(base, [read(False, 0.97, ""), read(False, 0.97, "")])
    assert base.fields[flag].value is True


def test_three_readings_agreeing_on_the_other_lines_worded_limit_are_not_enough():
    # "PER OCCURRENCE $1,000,000" read "PER-OCCURRENCE ..." three times (seed 4545): words.
    path = "policies.other.limits.limit"

    def ex(conf: float) -> Extraction:
        return Extraction(fields={path: FieldValue(path, "PER-OCCURRENCE $1,000,000", conf, 1,
                                                   (0, 0, 10, 10))})
    base = ex(0.7)
    vote(base, [ex(0.8), ex(0.9)])
    assert base.fields[path].confidence == 0.7
    assert base.fields[path].notes == ["readings agree (3 of 3)"]


def test_an_amount_a_check_found_odd_is_the_majoritys_when_theirs_is_not():
    # "106" (not a usual limit) where two readings read 1,000,000 (fax-6464-002): the same
    # cell misread, though no "variant" of it by its characters.
    base = _ex(limit=(106, 0.0))
    base.fields[LIMIT].notes.append("not a usual limit amount")
    vote(base, [_ex(limit=(1000000, 0.7)), _ex(limit=(1000000, 0.5))])
    assert base.fields[LIMIT].value == 1000000
    assert base.fields[LIMIT].notes == ["read so by 2 of 3 readings"]
    # Nor when something odd was found about the majority's too.
    odd = _ex(limit=(106, 0.0))
    odd.fields[LIMIT].notes.append("not a usual limit amount")
    w = [_ex(limit=(1000007, 0.7)), _ex(limit=(1000007, 0.5))]
    for x in w:
        x.fields[LIMIT].notes.append("not a usual limit amount")
    vote(odd, w)
    assert odd.fields[LIMIT].value == 106
    # Nothing odd found about the base's: it stays, less sure.
    clean = _ex(limit=(1000000, 0.6))
    vote(clean, [_ex(limit=(5000, 0.7)), _ex(limit=(5000, 0.68))])
    assert clean.fields[LIMIT].value == 1000000 and clean.fields[LIMIT].confidence < 0.6
