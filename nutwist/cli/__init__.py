"""One-shot commands: nutwist, upsc, upsrw, upscmd, upsdrvctl, ..."""
