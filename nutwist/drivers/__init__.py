"""The driver core and the drivers nutwist implements."""
