"""WeChat's flat XML messages <-> dicts, refusing anything that isn't a plain <xml> document."""

from __future__ import annotations

from xml.etree import ElementTree
from xml.sax.saxutils import escape


class XmlError(ValueError):
    """A body that is not a WeChat XML message."""


def parse_xml(body: bytes | str) -> dict[str, str]:
    """The child elements of the <xml> root as a dict of stripped texts (nested elements flattened)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise XmlError("not UTF-8") from exc
    upper = text.upper()
    # No DTDs at all: WeChat never sends them, and entity tricks are the usual way to abuse an XML parser.
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise XmlError("DTDs are not accepted")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise XmlError(f"malformed XML: {exc}") from exc
    if root.tag != "xml":
        raise XmlError(f"root element is <{root.tag}>, not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if len(child):
            for grandchild in child.iter():
                if grandchild is not child and not len(grandchild):
                    fields.setdefault(f"{child.tag}.{grandchild.tag}", (grandchild.text or "").strip())
        else:
            fields[child.tag] = (child.text or "").strip()
    return fields


def to_xml(fields: dict[str, str | int]) -> str:
    """A flat <xml> document (strings as CDATA, numbers bare), as WeChat itself writes them."""
    parts = ["<xml>"]
    for key, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{key}>{value}</{key}>")
        elif "]]>" in value:
            parts.append(f"<{key}>{escape(value)}</{key}>")
        else:
            parts.append(f"<{key}><![CDATA[{value}]]></{key}>")
    parts.append("</xml>")
    return "".join(parts)
