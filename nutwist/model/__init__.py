"""The data model drivers and upsd share: variables, flags, enums, ranges, commands."""
