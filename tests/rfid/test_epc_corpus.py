"""The EPC examples of GS1's Tag Data Standard (tests/rfid/vendor_corpus/epc, sources and
misprints in its NOTES.md): each must decode to exactly what the document prints, and encode
back to the document's bits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from edge.rfid.epc import EpcScheme, decode_epc, encode_tag_uri

CORPUS = Path(__file__).parent / "vendor_corpus" / "epc"
RAW: list[tuple[str, dict[str, Any]]] = [
    (path.stem, vector)
    for path in sorted(CORPUS.glob("*.json"))
    for vector in json.loads(path.read_text(encoding="utf-8"))["vectors"]
]
VECTORS = [pytest.param(vector, id=f"{stem}: {vector['section']}") for stem, vector in RAW]


def _expected_from_element_string(element_string: str) -> dict[str, str]:
    """The GS1 key and serial a GS1 element string carries (GS1 General Specifications AIs)."""
    ais = dict(re.findall(r"\((\d+)\)([^(]*)", element_string))
    assert "".join(f"({ai}){value}" for ai, value in ais.items()) == element_string
    if "01" in ais:
        return {"gtin": ais["01"], "serial": ais["21"]}
    if "00" in ais:
        return {"sscc": ais["00"]}
    if "414" in ais:  # no AI 254: the GLN itself, extension 0 (TDS §7.2.2)
        return {"gln": ais["414"], "extension": ais.get("254", "0")}
    if "8003" in ais:  # the GRAI follows a pad zero
        assert ais["8003"][0] == "0"
        return {"grai": ais["8003"][1:]}
    key = {"8004": "giai", "8017": "gsrnp", "8018": "gsrn", "253": "gdti"}
    ((ai, value),) = ais.items()
    return {key[ai]: value}


def _tag_uri_for(pure_identity_uri: str, scheme: str) -> str:
    """TDS §12.3.2 with filter 0: ``urn:epc:id:sgtin:...`` -> ``urn:epc:tag:sgtin-96:0....``."""
    body = pure_identity_uri.split(":", 4)[4]
    return f"urn:epc:tag:{scheme}:0.{body}"


@pytest.mark.parametrize("vector", VECTORS)
def test_tds_example(vector: dict[str, Any]) -> None:
    if "encode_as" in vector:
        tag_uri = _tag_uri_for(vector["pure_identity_uri"], vector["encode_as"])
        epc_hex = encode_tag_uri(tag_uri)
    else:
        tag_uri, epc_hex = vector.get("tag_uri"), vector["hex"]
        assert len(epc_hex) % 4 == 0, "the corpus holds whole 16-bit words"
    pc_word = int(vector["pc"], 16) if "pc" in vector else None
    decoded = decode_epc(epc_hex, pc_word)
    if "pure_identity_uri" in vector:
        assert decoded.scheme is not EpcScheme.UNKNOWN, decoded.error
        assert decoded.pure_identity_uri == vector["pure_identity_uri"]
        assert decoded.tag_uri == tag_uri
        encoded = encode_tag_uri(decoded.tag_uri)
        assert encoded == epc_hex, "the document's bits, from its tag URI"
    if "element_string" in vector:
        for name, value in _expected_from_element_string(vector["element_string"]).items():
            assert getattr(decoded, name) == value, name
    for name, value in vector.get("fields", {}).items():
        actual = getattr(decoded, name)
        assert (actual.value if hasattr(actual, "value") else actual) == value, name


def test_corpus_covers_every_scheme_decoded() -> None:
    schemes = {decode_epc(vector["hex"]).scheme for _, vector in RAW if "hex" in vector}
    assert schemes == set(EpcScheme)
