"""NUT configuration files: one tokenizer, a typed model per file."""
