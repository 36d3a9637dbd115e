"""LLRP (EPCglobal Low Level Reader Protocol 1.0.1 / 1.1): a pure codec, no I/O.

- :mod:`.spec`: message and parameter numbers and field layouts, from the specification;
- :mod:`.codec`: messages and parameters (TLV and TV) to and from bytes;
- :mod:`.framing`: an incremental framer for the TCP byte stream;
- :mod:`.reports`: RO_ACCESS_REPORT bodies to tag reads, fast;
- :mod:`.commands`: the requests a client sends and what it reads from the answers.

The driver (:mod:`edge.rfid.llrp_reader`) is the I/O shell around these; docs/readers.md
describes the conversation.
"""
