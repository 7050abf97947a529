"""USB HID Power Device Class support: the report-descriptor parser, NUT's path model, the
usbhid-ups driver and its subdrivers."""
