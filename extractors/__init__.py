"""Field extraction from words and ruled lines: labels, sections, values, confidence."""
