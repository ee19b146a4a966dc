"""Everything shown to a person: consoles, error rendering, tables, live progress, plots."""
