"""Prompt syntax: parsing, realisation and every kind of invalid input."""

import random

import pytest
import torch

from core.alphabet import (BOS, EOS, MASK, PAD, RESIDUE_TO_ID, AlphabetError, decode_residues, encode_residues,
                           encode_sequence)
from core.prompt import PromptError, encode_layouts, parse_prompt


def test_letters_are_case_insensitive_and_ignore_whitespace():
    prompt = parse_prompt("mk v\nL a")
    assert prompt.fixed_residues == "MKVLA"
    assert prompt.min_length == prompt.max_length == 5


def test_every_mask_form_is_parsed():
    prompt = parse_prompt("M_[3]K[2-4]{st}")
    masked = [s for s in prompt.segments if s.masked]
    assert [(s.min_length, s.max_length) for s in masked] == [(1, 1), (3, 3), (2, 4), (1, 1)]
    assert masked[-1].allowed.letters() == "ST"
    assert prompt.min_length == 1 + 1 + 3 + 1 + 2 + 1
    assert prompt.max_length == 1 + 1 + 3 + 1 + 4 + 1
    assert prompt.masked_count_range == (7, 9)


def test_segments_point_back_to_the_text():
    text = "AC [12] {DE}"
    prompt = parse_prompt(text)
    assert [text[s.start:s.end] for s in prompt.segments] == ["A", "C", "[12]", "{DE}"]


def test_variable_span_lengths_cover_the_range():
    prompt = parse_prompt("M[1-4]K")
    rng = random.Random(0)
    lengths = {len(prompt.realise(rng)) for _ in range(200)}
    assert lengths == {3, 4, 5, 6}


def test_encoding_adds_bos_eos_and_padding():
    layout = parse_prompt("MA_").realise(random.Random(0))
    batch = encode_layouts([layout], 8)
    assert batch.tokens[0].tolist() == [BOS, RESIDUE_TO_ID["M"], RESIDUE_TO_ID["A"], MASK, EOS, PAD, PAD, PAD]
    assert batch.free[0].tolist() == [False, False, False, True, False, False, False, False]
    assert batch.allowed[0, 3, RESIDUE_TO_ID["W"]]
    assert not batch.allowed[0, 3, RESIDUE_TO_ID["X"]]
    assert not batch.allowed[0, 3, PAD]


@pytest.mark.parametrize("text, position, fragment", [
    ("MK[0]A", 3, "masks no residue"),
    ("MK[0-3]A", 3, "masks no residue"),
    ("MK[5-2]A", 3, "reversed range: write [2-5]"),
    ("MK[]A", 3, "not a span length"),
    ("MK[a]A", 3, "not a span length"),
    ("MK[3", 3, "not closed"),
    ("MK[3[4]]", 3, "not closed"),
    ("MK]", 3, "unmatched ']'"),
    ("MK}", 3, "unmatched '}'"),
    ("MK{}A", 3, "empty residue set"),
    ("MK{ST", 3, "not closed"),
    ("MK{S1}", 5, "not an amino acid"),
    ("MKB", 3, "write D, N, or {DN}"),
    ("MKZ", 3, "write E, Q, or {EQ}"),
    ("MKU", 3, "selenocysteine"),
    ("MKO", 3, "pyrrolysine"),
    ("MK*", 3, "stop"),
    ("MK5", 3, "outside brackets"),
    ("MK-A", 3, "gap"),
    ("MK#", 3, "use one of"),
    ("", 1, "empty"),
    ("   ", 1, "empty"),
])
def test_invalid_prompts_name_position_and_fix(text, position, fragment):
    with pytest.raises(PromptError) as caught:
        parse_prompt(text)
    assert caught.value.position + 1 == position
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"position {position}:")


def test_prompt_longer_than_model_is_rejected():
    with pytest.raises(PromptError, match="at most 8"):
        parse_prompt("MKVLAGHEW", model_length=10)
    parse_prompt("MKVLAGHE", model_length=10)


def test_variable_span_that_can_overflow_is_rejected():
    with pytest.raises(PromptError, match="can reach 12 residues"):
        parse_prompt("MK[2-10]", model_length=10)


def test_residue_encoding_round_trips():
    assert decode_residues(encode_residues("mkvLA w")) == "MKVLAW"
    tokens = encode_sequence("MKV", 6)
    assert tokens.tolist() == [BOS, RESIDUE_TO_ID["M"], RESIDUE_TO_ID["K"], RESIDUE_TO_ID["V"], EOS, PAD]


def test_encoding_rejects_invalid_character_with_position():
    with pytest.raises(AlphabetError, match="'J' at position 3"):
        encode_residues("MKJ")


def test_encoding_rejects_too_long_sequence():
    with pytest.raises(ValueError, match="at most 4 residues"):
        encode_sequence("MKVLA", 6)


def test_decode_marks_masks():
    assert decode_residues(torch.tensor([BOS, RESIDUE_TO_ID["A"], MASK, EOS, PAD])) == "A_"
