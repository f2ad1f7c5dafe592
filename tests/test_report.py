"""The HTML report is self-contained, escapes user text, shows one row per method and every warning; the terminal
rendering shows tokens and top-token tables."""

from __future__ import annotations

import io
import re

from rich.console import Console

from faithlab.explain import Explanation
from faithlab.report import print_explanations, render_html, token_text, top_tokens_table, write_html
from faithlab.report.tokens import NEGATIVE, POSITIVE, score_rgb, shown_tokens

HEAD_WARNING = "the classification head is untrained: scores explain a random head"


def make(
    text: str,
    scores: list[float],
    method: str = "m",
    *,
    warnings: tuple[str, ...] = (),
    target: int = 1,
    special: tuple[float, float] = (0.0, 0.0),
) -> Explanation:
    """[CLS] + one token per whitespace word + [SEP] (scored `special`), on a two-label model; explains the logit
    with [MASK] replacement."""
    words, start = [], 0
    for word in text.split():
        start = text.index(word, start)
        words.append((0, start, start + len(word)))
        start += len(word)
    return Explanation(
        text=text, pair=None, tokens=["[CLS]", *text.split(), "[SEP]"], scores=[special[0], *scores, special[1]],
        word_ids=[None, *range(len(words)), None], words=words, target=target,
        target_name=["negative", "positive"][target], method=method, settings={"n_samples": 8},
        probabilities=[0.3, 0.7], labels=["negative", "positive"], model="tiny-model", seconds=0.25,
        output="logit", replacement="mask", warnings=list(warnings), extras={"delta": 0.125, "table": [1, 2]},
    )


def sections(html: str) -> list[str]:
    return re.findall(r'<section class="text">.*?</section>', html, flags=re.S)


def test_page_is_self_contained_and_forbids_loading_anything():
    html = render_html([make("a fine film", [0.2, -0.4, 0.1])])
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html


def test_user_text_is_escaped():
    html = render_html([make("<script>alert(1)</script> & <b>bold</b>", [0.1, 0.2, 0.3])])
    assert "<script" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&amp;" in html


def test_one_row_per_method_for_each_text():
    methods = ["ig", "lime", "occlusion"]
    explanations = [make(text, [0.1, -0.2], m) for m in methods for text in ("good film", "bad plot")]
    parts = sections(render_html(explanations))
    assert len(parts) == 2
    for part in parts:
        assert part.count('<tr class="row">') == 3
        assert re.findall(r"<b>(\w+)</b>", part) == methods


def test_a_repeated_text_gets_its_own_group():
    parts = sections(render_html([make("same text", [1.0, 0.0], m) for m in ("a", "b")] * 2))
    assert [p.count('<tr class="row">') for p in parts] == [2, 2]


def test_prediction_target_settings_extras_and_exact_scores_are_shown():
    html = render_html([make("good film", [0.123456789, -0.5])])
    assert "prediction: <span class=\"top\">positive</span>" in html
    assert "negative 0.300, positive 0.700" in html
    assert "target: positive (0.700)" in html
    assert "n_samples" in html and "0.25 s" in html and "delta=0.125" in html
    assert 'title="good: +0.123457"' in html and 'title="film: -0.5"' in html


def test_tokens_are_coloured_on_a_diverging_scale_normalised_per_row():
    html = render_html([make("up down zero", [2.0, -2.0, 0.0])])
    assert 'style="background:rgb(214,39,40);color:#fff" title="up: +2"' in html
    assert 'style="background:rgb(31,100,200);color:#fff" title="down: -2"' in html
    assert 'style="background:rgb(255,255,255)" title="zero: +0"' in html
    assert score_rgb(1.0) == POSITIVE and score_rgb(-1.0) == NEGATIVE and score_rgb(0.0) == (255, 255, 255)
    assert score_rgb(0.5)[0] > score_rgb(0.5)[2] and score_rgb(-0.5)[2] > score_rgb(-0.5)[0]


def test_untrained_head_is_a_banner_and_truncation_a_note():
    truncated = "input longer than the model limit of 8 tokens was truncated"
    html = render_html([make("good film", [0.1, 0.2], warnings=(HEAD_WARNING, truncated))])
    banner = re.search(r'<div class="banner">(.*?)</div>', html, flags=re.S)
    assert banner and "tiny-model is untrained" in banner.group(1) and "random head" in banner.group(1)
    assert "1 text was longer than the model limit" in html and truncated in html
    assert 'class="banner"' not in render_html([make("good film", [0.1, 0.2])])


def test_only_the_first_texts_are_shown_but_all_are_counted(tmp_path):
    path = write_html((make(f"text number {i}", [0.1, 0.2, 0.3]) for i in range(7)), tmp_path / "r.html", max_texts=3)
    html = path.read_text(encoding="utf-8")
    assert len(sections(html)) == 3 and "7 texts (showing the first 3)" in html


def test_subword_pieces_join_and_words_are_spaced():
    e = Explanation(
        text="unhappy day", pair=None, tokens=["[CLS]", "un", "##happy", "day", "[SEP]"],
        scores=[0.0, 1.0, 0.5, -1.0, 0.0], word_ids=[None, 0, 0, 1, None], words=[(0, 0, 7), (0, 8, 11)],
        target=0, target_name="a", method="m", settings={}, probabilities=[1.0], labels=["a"], model="x", seconds=0,
    )
    shown = shown_tokens(e, show_special=True)
    assert [t.text for t in shown] == ["[CLS]", "un", "happy", "day", "[SEP]"]
    assert [t.space_before for t in shown] == [False, True, False, True, True]
    assert [t.scaled for t in shown] == [0.0, 1.0, 0.5, -1.0, 0.0]
    assert token_text(e, show_special=True).plain == "[CLS] unhappy day [SEP]"
    hidden = shown_tokens(e)
    assert [(t.text, t.space_before) for t in hidden] == [("un", False), ("happy", False), ("day", True)]
    assert token_text(e).plain == "unhappy day"


def test_terminal_rendering_shows_tokens_tables_and_the_head_warning():
    console = Console(file=io.StringIO(), record=True, width=120)
    explanations = [make("good film", [0.9, -0.3], m, warnings=(HEAD_WARNING,)) for m in ("ig", "lime")]
    print_explanations(explanations, console, k=1)
    text = console.export_text()
    assert "tiny-model is untrained" in text
    assert "ig → positive" in text and "lime → positive" in text
    assert "good (+0.9)" in text and "film (-0.3)" not in text
    assert text.count("explains: logit · removal: mask · special tokens: hidden") == 2
    assert "special tokens hidden" in text and "[CLS]" not in text
    styles = {str(span.style) for span in token_text(explanations[0], show_special=True).spans}
    assert "white on rgb(214,39,40)" in styles and "dim" in styles


def test_top_tokens_table_has_a_row_per_explanation():
    table = top_tokens_table([make("good film", [0.9, -0.3], m) for m in ("a", "b", "c")], k=2)
    assert table.row_count == 3


def test_each_row_states_its_conventions_and_special_tokens_are_hidden_unless_asked():
    explanation = make("good film", [1.0, -0.5], special=(4.0, -2.0))
    html = render_html([explanation])
    row = re.search(r'<tr class="row">.*?</tr>', html, flags=re.S).group(0)
    assert "explains: logit · removal: mask · special tokens: hidden" in row
    (section,) = sections(html)
    assert "[CLS]" not in section and "[SEP]" not in section and "special tokens ([CLS], [SEP], ...) are hidden" in html
    # hidden special tokens do not set the scale: the best content token still gets the full colour
    assert 'style="background:rgb(214,39,40);color:#fff" title="good: +1"' in row
    shown = render_html([explanation], show_special=True)
    assert "special tokens: shown" in shown and "are shown" in shown
    assert 'title="[CLS]: +4 (special token)"' in shown and 'title="good: +1"' in shown
    assert 'style="background:rgb(214,39,40);color:#fff" title="[CLS]: +4 (special token)"' in shown


def test_an_old_record_says_its_special_tokens_were_stored_as_zero():
    record = make("good film", [1.0, -0.5]).to_dict()
    for key in ("output", "replacement", "special_tokens"):
        del record[key]
    html = render_html([Explanation.from_dict(record)])
    assert "explains: unknown · removal: unknown · special tokens: hidden, stored as 0" in html


def test_a_methods_own_warning_stays_on_its_row_and_a_shared_one_stands_above():
    truncated = "input longer than the model limit of 8 tokens was truncated"
    flat = "the signed gradient sums to 0 up to rounding"
    html = render_html([make("good film", [0.1, 0.2], "gradient", warnings=(truncated, flat)),
                        make("good film", [0.3, 0.1], "lrp", warnings=(truncated,))])
    [section] = sections(html)
    above, table = section.split("<table>")
    assert truncated in above and flat not in above
    rows = re.findall(r'<tr class="row">.*?</tr>', table, flags=re.S)
    assert [flat in row for row in rows] == [True, False]
