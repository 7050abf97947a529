"""STARTTLS context factories and certificate helpers."""
