"""LLRP (EPCglobal Low Level Reader Protocol 1.0.1 / 1.1): a pure codec and the driver.

- :mod:`.spec`: message and parameter numbers and field layouts, from the specification;
- :mod:`.codec`: messages and parameters (TLV and TV) to and from bytes;
- :mod:`.framing`: an incremental framer for the TCP byte stream;
- :mod:`.reports`: RO_ACCESS_REPORT bodies to tag reads, fast;
- :mod:`.commands`: the requests a client sends and what it reads from the answers.

The codec modules do no I/O (domain). :mod:`.driver` is the I/O shell around them (an
adapter: sockets and a thread); docs/readers.md describes the conversation.
"""
