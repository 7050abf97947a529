"""snmp-ups: NUT's SNMP driver, with NUT 2.8.0's MIB-to-NUT mappings as data."""
