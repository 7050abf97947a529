"""Wire codecs: the network protocol and the driver socket protocol."""
