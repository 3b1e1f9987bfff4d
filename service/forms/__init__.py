"""The printable forms: which template, which payload model, how its data prints."""
