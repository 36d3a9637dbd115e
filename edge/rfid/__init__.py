"""RFID: reader drivers, EPC decoding, the tag tracker and the live stock view."""
