"""The kinds of matter and the words that suggest each (the resident can always change the suggestion)."""

from __future__ import annotations

from dispatch.site.model import MATTER_KINDS
from dispatch.site.parse import hits

KEYWORDS: dict[str, tuple[str, ...]] = {
    "complaint": (
        "投诉",
        "不满",
        "太差",
        "态度差",
        "态度不好",
        "举报",
        "complain",
        "complaint",
        "unacceptable",
    ),
    "suggestion": ("建议", "希望", "能不能", "可否", "提议", "suggest", "suggestion", "idea", "could you"),
    "inquiry": ("咨询", "请问", "问一下", "怎么办理", "如何", "多少钱", "inquiry", "question", "how do i"),
    "praise": ("表扬", "感谢", "谢谢", "点赞", "锦旗", "praise", "thank", "thanks", "well done"),
}
# Words that bring a resident into a matter from anywhere outside a dialog.
ENTRY_WORDS = ("报事", *(word for words in KEYWORDS.values() for word in words))


def suggest(text: str) -> str | None:
    """The kind whose words `text` hits most (ties to the order of MATTER_KINDS), or None."""
    best, best_hits = None, 0
    for kind in MATTER_KINDS:
        count = hits(KEYWORDS[kind], text)
        if count > best_hits:
            best, best_hits = kind, count
    return best


def mentions(text: str) -> bool:
    """True when `text` says it is a matter (报事, 投诉, 建议 ...)."""
    return hits(ENTRY_WORDS, text) > 0
