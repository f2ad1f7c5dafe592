"""Data for faithlab: readers returning `Dataset`s of `Example`s, the planted-feature task, splits, slices.

Imports nothing else from faithlab.
"""

from faithlab.data.align import align_tokens
from faithlab.data.emotion import EMOTION_LABELS, read_emotion
from faithlab.data.eraser import read_eraser
from faithlab.data.esnli import read_esnli_csv, read_esnli_jsonl
from faithlab.data.examples import builtin_sentences
from faithlab.data.glue import read_glue_tsv, read_mnli, read_sst2
from faithlab.data.hatexplain import HATEXPLAIN_LABELS, read_hatexplain
from faithlab.data.label_sep import read_label_sep
from faithlab.data.labels import NLI_LABELS, SENTIMENT_LABELS
from faithlab.data.masks import combine_masks, indices_to_mask, spans_to_mask, word_spans
from faithlab.data.planted import plant_feature
from faithlab.data.records import DataError, Dataset, Example, Issue, Report, RowError, Skipped
from faithlab.data.skips import MAX_SKIPPED, ReadSummary, check_skipped
from faithlab.data.slices import SliceSpec, length_bucket, slice_index, slice_tags
from faithlab.data.splits import Splits, make_splits, stratified_indices, text_key
from faithlab.data.tabular import read_table

__all__ = [
    "EMOTION_LABELS",
    "HATEXPLAIN_LABELS",
    "MAX_SKIPPED",
    "NLI_LABELS",
    "SENTIMENT_LABELS",
    "DataError",
    "Dataset",
    "Example",
    "Issue",
    "ReadSummary",
    "Report",
    "RowError",
    "Skipped",
    "SliceSpec",
    "Splits",
    "align_tokens",
    "builtin_sentences",
    "check_skipped",
    "combine_masks",
    "indices_to_mask",
    "length_bucket",
    "make_splits",
    "plant_feature",
    "read_emotion",
    "read_eraser",
    "read_esnli_csv",
    "read_esnli_jsonl",
    "read_glue_tsv",
    "read_hatexplain",
    "read_label_sep",
    "read_mnli",
    "read_sst2",
    "read_table",
    "slice_index",
    "slice_tags",
    "spans_to_mask",
    "stratified_indices",
    "text_key",
    "word_spans",
]
