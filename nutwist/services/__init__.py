"""twisted.application services: upsd, drivers, upsmon, upssched, upslog."""
