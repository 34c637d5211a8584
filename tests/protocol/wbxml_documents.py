"""Hypothesis strategies for EAS documents built from the real code-page tables."""
from __future__ import annotations

from hypothesis import strategies as st
from lxml import etree

from protocol.wbxml.codepages import all_tags
from protocol.xml import set_opaque

TAG_NAMES = [name for _, _, name in all_tags()]

# Text XML can carry: no control characters but tab, CR and LF, no surrogates, no U+FFFE/F.
xml_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff",
                  min_codepoint=0x20) | st.sampled_from("\t\r\n"),
    min_size=1, max_size=40,
)


@st.composite
def documents(draw, max_depth: int = 5) -> etree._Element:
    """A random tree of real EAS tags: leaves hold nothing, text, or opaque bytes."""
    def element(parent: etree._Element | None, depth: int) -> etree._Element:
        tag = draw(st.sampled_from(TAG_NAMES))
        node = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
        kind = draw(st.sampled_from(["children", "text", "opaque", "empty"])
                    if depth < max_depth else st.sampled_from(["text", "opaque", "empty"]))
        if kind == "children":
            for _ in range(draw(st.integers(1, 4))):
                element(node, depth + 1)
        elif kind == "text":
            node.text = draw(xml_text)
        elif kind == "opaque":
            set_opaque(node, draw(st.binary(max_size=40)))
        return node

    return element(None, 0)
